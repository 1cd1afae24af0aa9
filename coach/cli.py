"""Command line: a thin click layer over the library; library errors become messages here."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from coach import __version__
from coach.diagnostics import CoachError, RoutineError

if TYPE_CHECKING:
    from coach.compiler import Overrides
    from coach.session import Session

F = TypeVar("F", bound=Callable[..., Any])


class CoachGroup(click.Group):
    """Turns every CoachError into one clear message and a non-zero exit, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RoutineError as error:
            click.echo(error.render(), err=True)
            count = len([d for d in error.diagnostics if d.is_error])
            raise click.ClickException(
                f"{count} error{'s' if count != 1 else ''}; nothing was rendered"
            ) from None
        except CoachError as error:
            raise click.ClickException(str(error)) from None
        except KeyboardInterrupt:
            click.echo("\nStopped.", err=True)
            sys.exit(130)


def pacing_options(function: F) -> F:
    """The listener's pacing options, shared by show, play and export."""
    options = [
        click.option(
            "--rate",
            type=click.IntRange(80, 450),
            metavar="WPM",
            help="Speech rate in words per minute (routine default, else 150).",
        ),
        click.option("--voice", metavar="ID", help="Voice id from `coach voices`."),
        click.option(
            "--tempo",
            type=click.FloatRange(1, 240),
            metavar="N",
            help="Reps per minute for every repeat, overriding the routine's tempos.",
        ),
        click.option(
            "--minutes",
            type=click.FloatRange(1, 240),
            metavar="N",
            help="Fit the session to about N minutes (holds, pauses, rests and reps scale).",
        ),
        click.option(
            "--cache-dir",
            type=click.Path(file_okay=False, path_type=Path),
            envvar="COACH_CACHE_DIR",
            help="Where rendered speech clips are kept [env: COACH_CACHE_DIR].",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def build_session(
    routine: str,
    rate: int | None,
    voice: str | None,
    tempo: float | None,
    cache_dir: Path | None,
    minutes: float | None = None,
    extra: Overrides | None = None,
) -> Session:
    """Run the pipeline for a command: options become overrides; warnings and notes go to stderr."""
    from coach import session
    from coach.compiler import Overrides

    overrides = Overrides(period=60.0 / tempo if tempo else None, rate=rate, voice=voice)
    if extra is not None:
        overrides = extra.over(overrides)
    with progress_bar("Rendering speech") as progress:
        built = session.build(routine, overrides, cache_dir, progress, minutes=minutes)
    for warning in built.warnings:
        click.echo(warning.render(), err=True)
    for note in built.notes:
        click.echo(note, err=True)
    return built


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr for long work; silent when stderr is not a terminal."""
    if not sys.stderr.isatty():
        yield lambda done, total: None
        return
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in state:
            state["bar"] = click.progressbar(length=total, label=label, file=sys.stderr)
            state["bar"].__enter__()
        bar = state["bar"]
        bar.update(done - bar.pos)

    try:
        yield update
    finally:
        if "bar" in state:
            state["bar"].__exit__(None, None, None)


@click.group(cls=CoachGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="coach")
def main() -> None:
    """coach: voice-guided audio sessions for self-massage and mobility routines.

    ROUTINE is the name of a built-in routine (see `coach list`) or a path to a
    .routine file. Start with:  coach play wall-release
    """


@main.command("list")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="COACH_CACHE_DIR",
    help="Where rendered speech clips are kept.",
)
def list_routines(cache_dir: Path | None) -> None:
    """List the built-in routines with their title and length."""
    from coach import library, session

    names = library.builtin_names()
    rows = []
    # The first run renders every routine's speech, which takes a few seconds.
    with progress_bar("Measuring routines") as progress:
        for done, name in enumerate(names, 1):
            built = session.build(name, cache_dir=cache_dir)
            rows.append((name, format_clock(built.timeline.duration), built.timeline.title))
            progress(done, len(names))
    for name, length, title in rows:
        click.echo(f"{name:<22} {length:>6}  {title}")


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def check(files: tuple[Path, ...]) -> None:
    """Check routine files and report every problem, with its line and column."""
    from coach.loader import check_file

    errors = 0
    for path in files:
        for diagnostic in check_file(path):
            click.echo(diagnostic.render(), err=True)
            errors += diagnostic.is_error
    if errors:
        raise click.ClickException(f"{errors} error{'s' if errors != 1 else ''}")
    click.echo(f"ok: {len(files)} file{'s' if len(files) != 1 else ''} checked", err=True)


@main.command()
@click.argument("routine")
@click.option("--json", "as_json", is_flag=True, help="Print the timeline as JSON.")
@pacing_options
def show(routine: str, as_json: bool, **pacing: Any) -> None:
    """Show the timeline of ROUTINE: when each cue sounds, in which step."""
    from coach.table import routine_header, timeline_table

    built = build_session(routine, **pacing)
    if as_json:
        click.echo(json.dumps(built.timeline.to_dict(), indent=2))
    else:
        click.echo(routine_header(built.routine.header, built.timeline))
        click.echo(timeline_table(built.timeline))


@main.command()
@click.argument("routine")
@pacing_options
def play(routine: str, **pacing: Any) -> None:
    """Play ROUTINE live through the speakers. Ctrl-C stops."""
    from coach.player import play as play_timeline

    built = build_session(routine, **pacing)
    total = format_clock(built.timeline.duration)
    status = sys.stderr.isatty()
    started = []

    def show(position: int, length: int) -> None:
        # Announced once sound flows, so a missing device gives only its own message.
        if not started:
            started.append(True)
            click.echo(f"Playing {built.timeline.title} ({total}). Ctrl-C stops.", err=True)
        if status:
            elapsed = format_clock(position / built.timeline.sample_rate)
            click.echo(f"\r{elapsed} / {total}", nl=False, err=True)

    play_timeline(built.timeline, built.bank, show)
    click.echo(("\n" if status else "") + "Done.", err=True)


@main.command()
@click.argument("routine")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write (.mp3, .wav or .ogg).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mp3", "wav", "ogg"]),
    help="Audio format [default: from the extension, else mp3].",
)
@pacing_options
def export(routine: str, output: Path, fmt: str | None, **pacing: Any) -> None:
    """Export ROUTINE as an audio file, with a chapter per step."""
    from coach.export import export as export_timeline

    built = build_session(routine, **pacing)
    with progress_bar(f"Writing {output.name}") as progress:
        written = export_timeline(built.timeline, built.bank, output, fmt, progress)
    click.echo(f"Wrote {written} ({format_clock(built.timeline.duration)})", err=True)


@main.command()
@click.argument("name")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def new(name: str, force: bool) -> None:
    """Write NAME.routine: a commented starter routine to edit."""
    from coach.starter import write_starter

    path = write_starter(name, force)
    click.echo(f"Wrote {path}. Next: coach check {path}, then coach play {path}", err=True)


@main.command()
def voices() -> None:
    """List the voices the speech engine offers (id, then name)."""
    from coach.speech import Pyttsx3Engine

    for voice in Pyttsx3Engine().voices():
        click.echo(f"{voice.id:<28} {voice.name}")


def format_clock(seconds: float) -> str:
    whole = int(round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"
