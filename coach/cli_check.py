"""`coach check`: report every problem in routine files, or in the routines of a directory.

It needs no audio stack: the speech engine is started only when a routine names a voice,
to know which voices there are, and a failure to start it is one warning, not an error.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import click

from coach import nodes
from coach.cli_options import complete_routine
from coach.diagnostics import MAX_MESSAGE, MAX_PER_FILE, CoachError, Diagnostic, render_diagnostics

ROUTINE_SUFFIX = ".routine"


@click.command(short_help="Check routine files and report every problem.")
@click.argument(
    "paths",
    metavar="FILE|DIR...",
    nargs=-1,
    required=True,
    type=click.Path(),
    shell_complete=complete_routine,
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the problems as JSON on standard output, for editors (see the README's "
    "'coach check --json'); the exit status is the same.",
)
@click.pass_context
def check(ctx: click.Context, paths: tuple[str, ...], as_json: bool) -> None:
    """Check routine files and report every problem, with its line and column.

    A directory stands for every .routine file in it and in its subdirectories (hidden ones
    skipped). A file that is missing or cannot be read is reported and counted as an error,
    and the others are still checked.

    Example: coach check my.routine my-routines/
    """
    voices = _Voices()
    found: list[Diagnostic | _Problem] = []
    checked = 0
    for path in _routine_files(paths):
        if isinstance(path, _Problem):
            found.append(path)
            continue
        checked += 1
        try:
            found += _check_one(path, voices)
        except CoachError as error:  # missing, unreadable, a directory, ...
            found.append(_Problem(str(path), _reason(error, path)))
    errors = sum(isinstance(d, _Problem) or d.is_error for d in found)
    warnings = len(found) - errors
    if as_json:
        click.echo(diagnostics_json(found, checked))
        ctx.exit(1 if errors else 0)  # the JSON says it all: no summary on stderr
    _render(found)
    files = f"{checked} file{'s' if checked != 1 else ''} checked"
    if errors:
        raise click.ClickException(f"{errors:,} error{'s' if errors != 1 else ''}; {files}")
    extra = f", {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ""
    click.echo(f"ok: {files}{extra}", err=True)


def _render(found: Sequence[Diagnostic | _Problem]) -> None:
    """The problems on stderr as coach prints them: a file's diagnostics together (at most
    MAX_PER_FILE, then how many more), a problem with a whole file on one line."""
    run: list[Diagnostic] = []
    for item in [*found, None]:
        if isinstance(item, Diagnostic):
            run.append(item)
            continue
        if run:
            click.echo(render_diagnostics(run), err=True)
            run = []
        if isinstance(item, _Problem):
            click.echo(f"{item.path}: error: {item.message}", err=True)


JSON_VERSION = 1  # raised when a key changes meaning or goes; new keys may come without it


def diagnostics_json(found: Sequence[Diagnostic | _Problem], checked: int) -> str:
    """`coach check --json`: one JSON object, its shape documented in the README.

    {"version": 1, "checked": files read, "errors": N, "warnings": N, "omitted": N,
     "diagnostics": [{"file", "line", "column", "end_column", "severity", "message",
     "hint"}, ...]}

    Lines and columns count from 1, columns in characters; `end_column` (exclusive) and
    `hint` are null when not known, and `line` and `column` are null for a problem with a
    whole file (missing, unreadable, a folder without routines). As on the terminal, at
    most MAX_PER_FILE diagnostics of a file are listed; `omitted` counts the rest, which
    `errors` and `warnings` include.
    """
    listed: list[dict[str, Any]] = []
    per_file: dict[str, int] = {}
    omitted = 0
    for item in found:
        record = _record(item)
        per_file[record["file"]] = per_file.get(record["file"], 0) + 1
        if per_file[record["file"]] > MAX_PER_FILE:
            omitted += 1
            continue
        listed.append(record)
    errors = sum(isinstance(d, _Problem) or d.is_error for d in found)
    summary = {
        "version": JSON_VERSION,
        "checked": checked,
        "errors": errors,
        "warnings": len(found) - errors,
        "omitted": omitted,
        "diagnostics": listed,
    }
    return json.dumps(summary, ensure_ascii=False, indent=2)


def _record(item: Diagnostic | _Problem) -> dict[str, Any]:
    if isinstance(item, _Problem):
        return {
            "file": item.path,
            "line": None,
            "column": None,
            "end_column": None,
            "severity": "error",
            "message": _bounded(item.message),
            "hint": None,
        }
    where = item.position
    return {
        "file": where.file,
        "line": where.line,
        "column": where.column,
        "end_column": item.end_column(),
        "severity": item.severity,
        "message": _bounded(item.message),
        "hint": _bounded(item.hint) if item.hint else None,
    }


def _bounded(text: str) -> str:
    """At most MAX_MESSAGE characters, as on the terminal: a message can quote a hostile
    file's text."""
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


class _Problem:
    """A command-line path that yields no routine to check, or a file that cannot be read."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message


def _routine_files(paths: Sequence[str]) -> Iterator[Path | _Problem]:
    """Each path, with a directory replaced by its .routine files (sorted, recursively)."""
    for given in paths:
        if os.path.isdir(given):
            yield from _directory_routines(given)
        else:
            yield _named(given)


def _named(given: str) -> Path | _Problem:
    """A file, or the routine a name stands for, found as show and play find it; a name
    found nowhere says where it was looked for."""
    from coach.library import resolve

    try:
        return resolve(given)
    except CoachError as error:
        if given.endswith(ROUTINE_SUFFIX) or os.sep in given or os.path.lexists(given):
            return Path(given)  # loading it says what is wrong, if anything
        return _Problem(given, str(error))


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
    from coach.words import spoken_in

    def voices_for(routine: nodes.Routine) -> set[str] | None:
        if not _names_a_voice(routine):
            return None
        return voices.ids(spoken_in(routine.header.language))

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
