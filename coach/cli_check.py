"""`coach check`: report every problem in routine files, or in the routines of a directory.

It needs no audio stack: the speech engine is started only when a routine names a voice,
to know which voices there are, and a failure to start it is one warning, not an error.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import click

from coach import nodes
from coach.diagnostics import CoachError, Diagnostic, render_diagnostics

ROUTINE_SUFFIX = ".routine"


@click.command()
@click.argument("paths", metavar="FILE|DIR...", nargs=-1, required=True, type=click.Path())
def check(paths: tuple[str, ...]) -> None:
    """Check routine files and report every problem, with its line and column.

    A directory stands for every .routine file in it and in its subdirectories (hidden ones
    skipped). A file that is missing or cannot be read is reported and counted as an error,
    and the others are still checked.
    """
    voices = _Voices()
    errors = warnings = checked = 0
    for path in _routine_files(paths):
        if isinstance(path, _Problem):
            click.echo(f"{path.path}: error: {path.message}", err=True)
            errors += 1
            continue
        checked += 1
        try:
            diagnostics = _check_one(path, voices)
        except CoachError as error:  # missing, unreadable, a directory, ...
            click.echo(f"{path}: error: {_reason(error, path)}", err=True)
            errors += 1
            continue
        if diagnostics:  # at most MAX_PER_FILE of a file's, then how many more it has
            click.echo(render_diagnostics(diagnostics), err=True)
        errors += sum(d.is_error for d in diagnostics)
        warnings += sum(not d.is_error for d in diagnostics)
    files = f"{checked} file{'s' if checked != 1 else ''} checked"
    if errors:
        raise click.ClickException(f"{errors:,} error{'s' if errors != 1 else ''}; {files}")
    extra = f", {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ""
    click.echo(f"ok: {files}{extra}", err=True)


class _Problem:
    """A command-line path that yields no routine to check."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message


def _routine_files(paths: Sequence[str]) -> Iterator[Path | _Problem]:
    """Each path, with a directory replaced by its .routine files (sorted, recursively)."""
    for given in paths:
        if os.path.isdir(given):
            yield from _directory_routines(given)
        else:
            yield Path(given)  # loading it says what is wrong, if anything


def _directory_routines(directory: str) -> list[Path | _Problem]:
    problems: list[Path | _Problem] = []

    def unlisted(error: OSError) -> None:
        where = str(error.filename or directory)
        problems.append(_Problem(where, f"cannot list this directory ({error.strerror})"))

    found: list[Path] = []
    for root, dirs, files in os.walk(directory, onerror=unlisted):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [Path(root) / name for name in files if _is_routine(name)]
    if not found and not problems:
        problems.append(_Problem(directory, f"no {ROUTINE_SUFFIX} files in this directory"))
    return problems + sorted(found)


def _is_routine(name: str) -> bool:
    return name.endswith(ROUTINE_SUFFIX) and not name.startswith(".")


def _check_one(path: Path, voices: _Voices) -> list[Diagnostic]:
    """check_file, with the engine's voices when the routine names one."""
    from coach.loader import check_file
    from coach.words import ENGLISH, language_code

    def voices_for(routine: nodes.Routine) -> set[str] | None:
        if not _names_a_voice(routine):
            return None
        return voices.ids(language_code(routine.header.language) or ENGLISH)

    return check_file(path, voices_for=voices_for)


def _names_a_voice(routine: nodes.Routine) -> bool:
    def walk(body: Sequence[nodes.Statement]) -> bool:
        for statement in body:
            if isinstance(statement, nodes.Setting) and statement.key == "voice":
                return True
            if isinstance(statement, nodes.Step | nodes.Include) and walk(statement.body):
                return True
            if isinstance(statement, nodes.For) and (
                walk(statement.body) or walk(statement.between)
            ):
                return True
        return False

    return any(s.key == "voice" for s in routine.header.settings) or walk(routine.body)


class _Voices:
    """The voice ids of the speech engine that would speak a routine in each language, asked
    for once a language; None (with one warning) if the engine cannot start, so voices go
    unchecked rather than every routine failing."""

    def __init__(self) -> None:
        self._ids: dict[str, set[str] | None] = {}

    def ids(self, language: str) -> set[str] | None:
        if language not in self._ids:
            from coach.engines import make_engine

            try:
                self._ids[language] = {v.id for v in make_engine(language=language).voices()}
            except CoachError as error:
                self._ids[language] = None
                click.echo(f"warning: voices not checked: {error}", err=True)
        return self._ids[language]


def _reason(error: CoachError, path: Path) -> str:
    """The loader's message without the path it starts with (the line names it already)."""
    message = str(error)
    return message.removeprefix(f"{path}: ")
