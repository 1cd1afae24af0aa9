"""The built-in routine library, the starter from `coach new`, and docs kept in step."""

from __future__ import annotations

import re
import wave
from pathlib import Path

import pytest

from coach import library, loader, nodes, parser, session
from coach.export import export
from coach.starter import starter_text, write_starter

ROOT = Path(__file__).resolve().parent.parent
BUILTINS = library.builtin_names()


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("library-cache")


@pytest.fixture(scope="module")
def wall_release(cache):
    return session.build("wall-release", cache_dir=cache)


def test_library_ships_the_flagship():
    assert "wall-release" in BUILTINS


def test_include_only_files_are_not_listed():
    assert not [name for name in BUILTINS if name.startswith("_")]


# The shared safety opening of each language a built-in routine is written in, as included
# (by its documented name) and as shipped.
SAFETY = {"": "coach:safety", "de": "coach:sicherheit"}
SAFETY_FILES = {"": "_safety.routine", "de": "_sicherheit.routine"}


@pytest.mark.parametrize("name", [*BUILTINS, "_safety", "_sicherheit"])
def test_builtin_checks_with_no_diagnostics(name):
    path = library.routines_dir() / f"{name}.routine"
    assert [d.render() for d in loader.check_file(path)] == []


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_includes_the_shared_safety_opening_of_its_language(name):
    routine, _ = loader.load(library.resolve(name))
    includes = [s for s in routine.body if isinstance(s, nodes.Include)]
    assert [i.path for i in includes][:1] == [SAFETY[routine.header.language]]


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_does_not_copy_the_safety_lines(name):
    text = library.resolve(name).read_text()
    for opening in SAFETY_FILES.values():
        safety = (library.routines_dir() / opening).read_text()
        lines = [line.strip() for line in safety.splitlines() if line.startswith("say:")]
        assert not [line for line in lines if line in text]


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_names_its_source(name):
    routine, _ = loader.load(library.resolve(name))
    assert routine.header.source and routine.header.title


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_exports_a_wav_of_its_timeline_length(name, cache, tmp_path):
    built = session.build(name, cache_dir=cache)
    written = export(built.timeline, built.bank, tmp_path / f"{name}.wav")
    with wave.open(str(written)) as exported:
        assert exported.getnframes() == built.timeline.length


def rep_counts(built) -> list[tuple[str, int]]:
    """Accented clicks (one per rep) counted per chapter, in order."""
    counts = []
    for chapter in built.timeline.chapters:
        reps = [
            e
            for e in built.timeline.events
            if e.kind == "click" and e.accent and chapter.start <= e.start < chapter.end
        ]
        if reps:
            counts.append((chapter.name, len(reps)))
    return counts


def test_wall_release_has_25_reps_at_each_of_at_least_four_positions(wall_release):
    counts = rep_counts(wall_release)
    assert len(counts) >= 4
    assert all(reps >= 25 for _, reps in counts)


def test_wall_release_starts_at_the_buttocks_and_ends_at_the_neck(wall_release):
    names = [name for name, _ in rep_counts(wall_release)]
    assert "buttocks" in names[0] and "neck" in names[-1]


def test_wall_release_asks_to_move_the_balls_higher_between_positions(wall_release):
    spoken = [e.text for e in wall_release.timeline.events if e.kind == "speech"]
    assert sum("higher" in text for text in spoken) == len(rep_counts(wall_release)) - 1


def test_wall_release_lasts_ten_to_thirteen_minutes(wall_release):
    # Its about line says about twelve minutes; with the equipment spoken and a longer stay
    # at each position it lasts about 12:19 with espeak-ng.
    assert 10 * 60 <= wall_release.timeline.duration <= 13 * 60


def test_wall_release_settles_with_slow_hissing_breaths(wall_release):
    assert [e for e in wall_release.timeline.events if e.kind == "hiss"]


def test_wall_release_ends_with_well_done_and_the_bell(wall_release):
    spoken = [e.text for e in wall_release.timeline.events if e.kind == "speech"]
    assert spoken[-1] == "Well done."
    assert wall_release.timeline.events[-1].source == "bell"


def test_starter_passes_check(tmp_path):
    path = write_starter(str(tmp_path / "morning"))
    assert path.name == "morning.routine"
    assert loader.check_file(path) == []


def test_starter_uses_the_name_as_title():
    assert "title: Neck break" in starter_text("neck-break.routine")


def test_starter_never_overwrites_without_force(tmp_path):
    target = tmp_path / "mine.routine"
    target.write_text("title: Mine\n\nsay: Precious.\n")
    with pytest.raises(Exception, match="already exists"):
        write_starter(str(target))
    assert target.read_text() == "title: Mine\n\nsay: Precious.\n"


def test_starter_overwrites_with_force(tmp_path):
    target = tmp_path / "mine.routine"
    target.write_text("title: Mine\n\nsay: Old.\n")
    write_starter(str(target), force=True)
    assert loader.check_file(target) == []


def test_every_keyword_of_the_language_is_documented():
    reference = (ROOT / "docs" / "routine-language.md").read_text()
    missing = [k for k in parser.KEYWORDS if not re.search(rf"`{k}[ :`]", reference)]
    assert missing == []
