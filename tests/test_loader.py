"""Loader: reading files, expanding includes within their bounds, and checking sound paths."""

from __future__ import annotations

import io
import os
import wave
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coach import nodes
from coach.diagnostics import Diagnostic, Position, RoutineNotFound
from coach.loader import MAX_FILE_BYTES, check_file, load, load_text

FIXTURES = Path(__file__).parent / "fixtures" / "routines"
LIMIT = "over the 1 MB limit for a routine file"


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def wav(seconds: float, rate: int = 8000) -> bytes:
    """A plain WAV file of `seconds` of silence."""
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes(b"\0\0" * round(seconds * rate))
    return out.getvalue()


def problems(diagnostics: list[Diagnostic]) -> list[tuple[str, int, int, str]]:
    """(file, line, column, message) of every diagnostic."""
    return [(d.position.file, d.position.line, d.position.column, d.message) for d in diagnostics]


def included(statement: nodes.Statement) -> list[nodes.Statement]:
    assert isinstance(statement, nodes.Include)
    return statement.body


# Reading files --------------------------------------------------------------------------------


def test_the_spec_example_loads_without_diagnostics() -> None:
    routine, diagnostics = load(FIXTURES / "wall-ball.routine")
    assert diagnostics == []
    assert routine.header.title == "Wall ball release"
    assert routine.path == str(FIXTURES / "wall-ball.routine")


def test_a_missing_routine_file_raises_routine_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "nope.routine"
    with pytest.raises(RoutineNotFound, match="nope.routine: no such routine file"):
        load(missing)


def test_a_directory_is_not_a_routine_file(tmp_path: Path) -> None:
    with pytest.raises(RoutineNotFound, match="is a directory, not a routine file"):
        load(tmp_path)


def test_a_file_of_exactly_1_mb_is_accepted(tmp_path: Path) -> None:
    head = "title: Big\nsay: Hi.\n"
    path = write(tmp_path / "big.routine", head + "#" * (MAX_FILE_BYTES - len(head)))
    assert path.stat().st_size == MAX_FILE_BYTES
    assert load(path)[1] == []


def test_a_file_over_1_mb_is_an_error_naming_the_bound(tmp_path: Path) -> None:
    head = "title: Big\nsay: Hi.\n"
    path = write(tmp_path / "big.routine", head + "#" * (MAX_FILE_BYTES + 1 - len(head)))
    routine, diagnostics = load(path)
    assert problems(diagnostics) == [
        (str(path), 1, 1, "the file is 1,048,577 bytes, over the 1 MB limit for a routine file")
    ]
    assert routine.body == []


def test_check_file_on_a_file_over_1_mb_reports_only_the_size(tmp_path: Path) -> None:
    path = write(tmp_path / "big.routine", "#" * (3 * MAX_FILE_BYTES))
    assert problems(check_file(path)) == [(str(path), 1, 1, "the file is 3.0 MB, " + LIMIT)]


def test_undecodable_bytes_are_a_positioned_error_not_a_traceback(tmp_path: Path) -> None:
    path = write(tmp_path / "latin1.routine", "title: T\nsay: Café au lait\n".encode("latin-1"))
    routine, diagnostics = load(path)
    assert problems(diagnostics) == [(str(path), 2, 9, "the file is not valid UTF-8 (byte 0xE9)")]
    assert diagnostics[0].source_line == "say: Caf\ufffd au lait"
    assert diagnostics[0].hint == "save the routine file as UTF-8"
    assert len(routine.body) == 1


def test_every_line_with_bad_bytes_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.routine", b"title: T\nsay: \xff\nsay: ok\nsay: \xc3\n")
    assert problems(load(path)[1]) == [
        (str(path), 2, 6, "the file is not valid UTF-8 (byte 0xFF)"),
        (str(path), 4, 6, "the file is not valid UTF-8 (byte 0xC3)"),
    ]


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path / "bom.routine", "\ufefftitle: T\nsay: Hi.\n".encode())
    routine, diagnostics = load(path)
    assert diagnostics == []
    assert routine.header.title == "T"


# Includes -------------------------------------------------------------------------------------


def test_an_include_gets_the_statements_of_the_included_file() -> None:
    routine, diagnostics = load(FIXTURES / "with-include.routine")
    assert diagnostics == []
    warm_up = included(routine.body[0])
    assert [type(s) for s in warm_up] == [nodes.Say, nodes.Sound, nodes.Pause]
    assert warm_up[0].position == Position(str(FIXTURES / "parts" / "warm-up.routine"), 2, 1)


def test_the_header_of_an_included_file_is_ignored() -> None:
    routine, _ = load(FIXTURES / "with-include.routine")
    loop = routine.body[1]
    assert isinstance(loop, nodes.For)
    step = loop.body[0]
    assert isinstance(step, nodes.Step)
    stretch = included(step.body[0])
    assert [type(s) for s in stretch] == [nodes.Say, nodes.Hold]
    assert routine.header.title == "Back care"
    assert [s.value for s in routine.header.settings] == [4.0]


def test_included_statements_use_the_for_variables_around_the_include() -> None:
    assert check_file(FIXTURES / "with-include.routine") == []


def test_includes_are_relative_to_the_file_that_names_them(tmp_path: Path) -> None:
    root = write(tmp_path / "main.routine", "title: T\ninclude: sub/a.routine\n")
    write(tmp_path / "sub" / "a.routine", "include: b.routine\n")
    write(tmp_path / "sub" / "b.routine", "say: From b.\n")
    routine, diagnostics = load(root)
    assert diagnostics == []
    (inner,) = included(routine.body[0])
    assert included(inner) == [
        nodes.Say(
            Position(str(tmp_path / "sub" / "b.routine"), 1, 1),
            nodes.Text("From b.", Position(str(tmp_path / "sub" / "b.routine"), 1, 6)),
        )
    ]


def test_diagnostics_inside_an_included_file_carry_its_path(tmp_path: Path) -> None:
    root = write(tmp_path / "main.routine", "title: T\ninclude: part.routine\n")
    part = write(tmp_path / "part.routine", "say: Fine.\nrepaet 3 times\n")
    (problem,) = load(root)[1]
    assert (problem.position, problem.message) == (
        Position(str(part), 2, 1),
        "unknown keyword 'repaet'",
    )
    assert problem.source_line == "repaet 3 times"


def test_checker_diagnostics_inside_an_included_file_carry_its_path(tmp_path: Path) -> None:
    root = write(tmp_path / "main.routine", "title: T\ninclude: part.routine\n")
    part = write(tmp_path / "part.routine", "pause 3h\n")
    (problem,) = check_file(root)
    assert problem.position == Position(str(part), 1, 7)
    assert problem.source_line == "pause 3h"


def _chain(tmp_path: Path, files: int) -> Path:
    """f0 includes f1, which includes f2, ... up to f{files - 1}."""
    for n in range(files - 1):
        head = "title: Chain\n" if n == 0 else ""
        write(tmp_path / f"f{n}.routine", f"{head}say: {n}.\ninclude: f{n + 1}.routine\n")
    write(tmp_path / f"f{files - 1}.routine", "say: The end.\n")
    return tmp_path / "f0.routine"


def test_includes_nested_8_deep_are_accepted(tmp_path: Path) -> None:
    assert load(_chain(tmp_path, 9))[1] == []


def test_includes_nested_9_deep_are_rejected_at_the_ninth_include(tmp_path: Path) -> None:
    (problem,) = load(_chain(tmp_path, 10))[1]
    assert (problem.position, problem.message) == (
        Position(str(tmp_path / "f8.routine"), 2, 10),
        "includes are nested more than 8 deep",
    )
    assert problem.hint == "include depth may be at most 8"


def test_an_include_cycle_is_rejected_at_the_include_naming_the_cycle() -> None:
    a, b = FIXTURES / "cycle-a.routine", FIXTURES / "cycle-b.routine"
    assert problems(load(a)[1]) == [(str(b), 2, 10, f"include cycle: {a} -> {b} -> {a}")]


def test_a_file_including_itself_is_a_cycle(tmp_path: Path) -> None:
    path = write(tmp_path / "self.routine", "title: T\ninclude: ./self.routine\n")
    assert problems(load(path)[1]) == [(str(path), 2, 10, f"include cycle: {path} -> {path}")]


def test_including_the_same_file_twice_is_not_a_cycle(tmp_path: Path) -> None:
    root = write(tmp_path / "main.routine", "title: T\ninclude: p.routine\ninclude: p.routine\n")
    write(tmp_path / "p.routine", "say: Again.\n")
    routine, diagnostics = load(root)
    assert diagnostics == []
    assert [len(included(s)) for s in routine.body] == [1, 1]


def test_a_missing_include_file_is_an_error_at_the_path(tmp_path: Path) -> None:
    root = write(tmp_path / "main.routine", "title: T\ninclude:  warmup.routine\n")
    write(tmp_path / "warm-up.routine", "say: Hi.\n")
    (problem,) = load(root)[1]
    assert (problem.position, problem.message) == (
        Position(str(root), 2, 11),
        "included file not found: 'warmup.routine'",
    )
    assert problem.hint == "did you mean 'warm-up.routine'?"


def test_an_include_path_leaving_the_directory_is_rejected(tmp_path: Path) -> None:
    write(tmp_path / "outside.routine", "say: Out.\n")
    root = write(tmp_path / "inner" / "main.routine", "title: T\ninclude: ../outside.routine\n")
    (problem,) = load(root)[1]
    assert (problem.position, problem.message) == (
        Position(str(root), 2, 10),
        "include path '../outside.routine' leaves the directory of this routine",
    )


def test_an_absolute_include_path_outside_the_tree_is_rejected(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside.routine", "say: Out.\n")
    root = write(tmp_path / "inner" / "main.routine", f"title: T\ninclude: {outside}\n")
    assert problems(load(root)[1]) == [
        (str(root), 2, 10, f"include path '{outside}' leaves the directory of this routine")
    ]


def test_a_symlink_leading_out_of_the_tree_is_rejected(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside.routine", "say: Out.\n")
    root = write(tmp_path / "inner" / "main.routine", "title: T\ninclude: link.routine\n")
    os.symlink(outside, tmp_path / "inner" / "link.routine")
    assert problems(load(root)[1]) == [
        (str(root), 2, 10, "include path 'link.routine' leaves the directory of this routine")
    ]


def test_an_included_file_may_not_leave_its_own_directory(tmp_path: Path) -> None:
    root = write(tmp_path / "main.routine", "title: T\ninclude: sub/a.routine\n")
    write(tmp_path / "sibling.routine", "say: Inside the root's tree.\n")
    a = write(tmp_path / "sub" / "a.routine", "include: ../sibling.routine\n")
    assert problems(load(root)[1]) == [
        (str(a), 1, 10, "include path '../sibling.routine' leaves the directory of this routine")
    ]


def test_a_path_going_up_and_back_down_stays_inside(tmp_path: Path) -> None:
    root = write(tmp_path / "dir" / "main.routine", "title: T\ninclude: ../dir/p.routine\n")
    write(tmp_path / "dir" / "p.routine", "say: Fine.\n")
    assert load(root)[1] == []


def test_an_empty_included_file_is_a_warning(tmp_path: Path) -> None:
    root = write(tmp_path / "main.routine", "title: T\nsay: Hi.\ninclude: empty.routine\n")
    write(tmp_path / "empty.routine", "# nothing yet\n")
    (problem,) = load(root)[1]
    assert problem.severity == "warning"
    assert (problem.position, problem.message) == (
        Position(str(root), 3, 10),
        "included file 'empty.routine' has no statements",
    )


def test_an_included_file_over_1_mb_is_an_error_at_the_include(tmp_path: Path) -> None:
    root = write(tmp_path / "main.routine", "title: T\ninclude: big.routine\n")
    write(tmp_path / "big.routine", "#" * (MAX_FILE_BYTES + 1))
    assert problems(load(root)[1]) == [
        (str(root), 2, 10, "included file 'big.routine' is 1,048,577 bytes, " + LIMIT)
    ]


def test_undecodable_bytes_in_an_included_file_are_reported_in_that_file(tmp_path: Path) -> None:
    root = write(tmp_path / "main.routine", "title: T\ninclude: part.routine\n")
    part = write(tmp_path / "part.routine", b"say: \xff\n")
    assert problems(load(root)[1]) == [(str(part), 1, 6, "the file is not valid UTF-8 (byte 0xFF)")]


def test_load_text_expands_includes_relative_to_the_given_path(tmp_path: Path) -> None:
    write(tmp_path / "part.routine", "say: Part.\n")
    routine, diagnostics = load_text("title: T\ninclude: part.routine\n", tmp_path / "main.routine")
    assert diagnostics == []
    assert len(included(routine.body[0])) == 1


# Sounds ---------------------------------------------------------------------------------------


def test_a_sound_file_gets_the_directory_of_the_routine_naming_it(tmp_path: Path) -> None:
    root = write(tmp_path / "main.routine", "title: T\ninclude: sub/part.routine\n")
    write(tmp_path / "sub" / "part.routine", "sound: gong.wav\n")
    write(tmp_path / "sub" / "gong.wav", wav(0.5))
    routine, diagnostics = load(root)
    assert diagnostics == []
    (sound,) = included(routine.body[0])
    assert isinstance(sound, nodes.Sound)
    assert (sound.name, sound.base_dir) == ("gong.wav", str((tmp_path / "sub").resolve()))


def test_a_sound_file_carries_its_probed_length(tmp_path: Path) -> None:
    write(tmp_path / "gong.wav", wav(1.25))
    routine, diagnostics = load(write(tmp_path / "main.routine", "title: T\nsound: gong.wav\n"))
    assert diagnostics == []
    (sound,) = routine.body
    assert isinstance(sound, nodes.Sound)
    assert sound.seconds == 1.25


def test_a_sound_file_that_is_not_audio_is_an_error_at_the_name(tmp_path: Path) -> None:
    write(tmp_path / "gong.mp3", "#EXTM3U\n#EXTINF:10,\nhttp://example.com/a.mp3\n")
    root = write(tmp_path / "main.routine", "title: T\nsound: gong.mp3\n")
    (problem,) = load(root)[1]
    assert problem.position == Position(str(root), 2, 8)
    assert problem.message.startswith("sound file 'gong.mp3' is not a plain audio file")


def test_a_sound_file_named_many_times_is_probed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coach import loader

    probed: list[Path] = []
    real = loader.probe_sound

    def probe(path: Path, name: str | None = None) -> object:
        probed.append(path)
        return real(path, name)

    monkeypatch.setattr(loader, "probe_sound", probe)
    write(tmp_path / "gong.wav", wav(0.1))
    load(write(tmp_path / "main.routine", "title: T\n" + "sound: gong.wav\n" * 50))
    assert probed == [(tmp_path / "gong.wav").resolve()]


def test_a_builtin_sound_needs_no_file(tmp_path: Path) -> None:
    routine, diagnostics = load(write(tmp_path / "main.routine", "title: T\nsound: bell\n"))
    assert diagnostics == []
    assert routine.body == [nodes.Sound(Position(str(tmp_path / "main.routine"), 2, 1), "bell")]


def test_a_missing_sound_file_is_an_error_at_the_name(tmp_path: Path) -> None:
    root = write(tmp_path / "main.routine", "title: T\nsound: gong.wav\n")
    (problem,) = load(root)[1]
    assert (problem.position, problem.message) == (
        Position(str(root), 2, 8),
        "sound file not found: 'gong.wav'",
    )


def test_a_misspelt_builtin_sound_gets_a_hint(tmp_path: Path) -> None:
    root = write(tmp_path / "main.routine", "title: T\nsound: chimes\n")
    (problem,) = load(root)[1]
    assert (problem.position, problem.message) == (
        Position(str(root), 2, 8),
        "sound file not found: 'chimes'",
    )
    assert problem.hint == "did you mean the built-in sound 'chime'?"


def test_a_sound_path_leaving_the_directory_is_rejected(tmp_path: Path) -> None:
    write(tmp_path / "gong.wav", wav(0.1))
    root = write(tmp_path / "inner" / "main.routine", "title: T\nsound: ../gong.wav\n")
    assert problems(load(root)[1]) == [
        (str(root), 2, 8, "sound path '../gong.wav' leaves the directory of this routine")
    ]


# check_file -----------------------------------------------------------------------------------


def test_check_file_reports_the_three_errors_of_a_file_with_three_errors() -> None:
    path = FIXTURES / "three-errors.routine"
    assert problems(check_file(path)) == [
        (str(path), 5, 9, "unknown unit 'parsecs'"),
        (str(path), 6, 1, "unknown keyword 'repaet'"),
        (str(path), 7, 11, "unknown hold option 'countdwn 5'"),
    ]


def test_check_file_combines_parser_checker_and_include_problems_sorted(tmp_path: Path) -> None:
    root = write(
        tmp_path / "main.routine",
        "say: {who}\ninclude: missing.routine\nrepeat 5000 times\npause 1 fortnight\n",
    )
    assert problems(check_file(root)) == [
        (str(root), 1, 1, "missing title"),
        (str(root), 1, 6, "unknown placeholder '{who}'"),
        (str(root), 2, 10, "included file not found: 'missing.routine'"),
        (str(root), 3, 8, "repeat count 5000 is outside 1 to 1000"),
        (str(root), 4, 9, "unknown unit 'fortnight'"),
    ]


def test_check_file_checks_voices_when_given_the_known_ones(tmp_path: Path) -> None:
    root = write(tmp_path / "main.routine", "title: T\nvoice: robot\nsay: Hi.\n")
    assert problems(check_file(root, known_voices={"gmw/en-us"})) == [
        (str(root), 2, 8, "unknown voice 'robot'")
    ]


def test_check_file_renders_each_problem_with_file_line_column_and_caret(tmp_path: Path) -> None:
    root = write(tmp_path / "main.routine", "title: T\npause 1 fortnight\n")
    (problem,) = check_file(root)
    assert problem.render() == (
        f"{root}:2:9: error: unknown unit 'fortnight'\n"
        "    pause 1 fortnight\n"
        "            ^\n"
        "    hint: write a duration like '5s', '5 sec', '2 min', '1m30s' or '1.5 min'"
    )


# Robustness -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sandbox")
    write(root / "inner" / "part.routine", "say: Part.\ninclude: ../inner/part.routine\n")
    write(root / "inner" / "gong.wav", wav(0.1))
    return root / "inner"


_PATHS = st.one_of(
    st.text(min_size=1, max_size=300),
    st.sampled_from(
        ["part.routine", "../inner/part.routine", "/etc/passwd", ".", "..", "gong.wav"]
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["include", "sound"]), _PATHS), max_size=5))
def test_any_include_or_sound_path_gives_diagnostics_not_exceptions(
    sandbox: Path, statements: list[tuple[str, str]]
) -> None:
    lines = [f"{keyword}: {path}" for keyword, path in statements]
    load_text("title: T\n" + "\n".join(lines) + "\n", sandbox / "main.routine")


def test_check_file_asks_for_the_voices_with_the_loaded_routine(tmp_path: Path) -> None:
    path = write(tmp_path / "main.routine", "title: T\nvoice: gmw/en\nsay: Hi.\n")
    asked: list[str] = []

    def voices(routine: nodes.Routine) -> list[str]:
        asked.append(routine.header.title)
        return ["gmw/en-us"]

    found = check_file(path, voices_for=voices)
    assert asked == ["T"]
    assert [d.message for d in found] == ["unknown voice 'gmw/en'"]
