"""Command line: `coach show` and `coach export`, the session as text, cue sheets and audio."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from coach.cli_options import complete_routine, pacing_options
from coach.cli_session import build_session, format_clock, progress_bar

SHOW_FORMATS = ("table", "json", "vtt", "chapters")


@click.command(short_help="Show the timeline of ROUTINE: each cue and its time.")
@click.argument("routine", shell_complete=complete_routine)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(SHOW_FORMATS),
    default="table",
    show_default=True,
    help="table: each cue and its step; json: the whole timeline; vtt: the spoken lines as a "
    "WebVTT cue sheet; chapters: the chapters as WebVTT.",
)
@click.option("--json", "as_json", is_flag=True, help="The same as --format json.")
@pacing_options
def show(routine: str, fmt: str, as_json: bool, **pacing: Any) -> None:
    """Show the timeline of ROUTINE: when each cue sounds, in which step.

    Example: coach show wall-release --format vtt > wall-release.vtt
    """
    from coach.table import routine_header, timeline_table

    built = build_session(routine, **pacing)
    if as_json or fmt == "json":
        for chunk in built.timeline.json_chunks():  # streamed: a long session's events
            click.echo(chunk, nl=False)
        click.echo()
    elif fmt in ("vtt", "chapters"):
        from coach.cuesheet import chapters_vtt, cues_vtt

        click.echo(cues_vtt(built.timeline) if fmt == "vtt" else chapters_vtt(built.timeline))
    else:
        from coach.effective import profile_note

        note = profile_note(pacing)  # the profile's keys this session takes, if any
        click.echo(routine_header(built.routine.header, built.timeline, note))
        click.echo(timeline_table(built.timeline))


@click.command(short_help="Export ROUTINE as an audio file, a chapter per step.")
@click.argument("routine", shell_complete=complete_routine)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    required=True,
    help="File to write (.mp3, .wav or .ogg), or - for standard output (in --format, "
    "else mp3; not a terminal).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mp3", "wav", "ogg"]),
    help="Audio format [default: from the extension, else mp3].",
)
@click.option(
    "--cues",
    is_flag=True,
    help="Also write the spoken lines as a WebVTT cue sheet beside the audio (x.mp3: x.vtt) "
    "and its chapters as x.chapters.vtt, as podcast players read them.",
)
@pacing_options
def export(routine: str, output: Path, fmt: str | None, cues: bool, **pacing: Any) -> None:
    """Export ROUTINE as an audio file, with a chapter per step.

    With -o -, the audio goes to standard output, for a pipe: coach export ROUTINE -o - |
    mpv -

    Example: coach export wall-release -o wall-release.mp3 --cues
    """
    from coach.export import check_target, cue_sheet_paths, write_cue_sheets
    from coach.export import export as export_timeline
    from coach.session import routine_inputs

    if str(output) == "-":
        if cues:
            raise click.UsageError("--cues writes files beside the audio: give -o FILE, not -")
        export_to_stdout(routine, fmt, pacing)
        return
    inputs = routine_inputs(routine)
    check_target(output, fmt, inputs)  # before any speech is rendered
    sheets = cue_sheet_paths(output, inputs) if cues else None
    built = build_session(routine, **pacing)
    with progress_bar(f"Writing {output.name}") as progress:
        written = export_timeline(
            built.timeline, built.bank, output, fmt, progress, built.routine.inputs
        )
    said = str(written)
    if sheets is not None:
        write_cue_sheets(built.timeline, sheets)
        said += f", {sheets[0]} and {sheets[1]}"
    click.echo(f"Wrote {said} ({format_clock(built.timeline.duration)})", err=True)


def export_to_stdout(routine: str, fmt: str | None, pacing: dict[str, Any]) -> None:
    """`coach export ROUTINE -o -`: the audio alone on standard output, never a terminal."""
    from coach.export import check_stream_target, export_stream
    from coach.session import routine_inputs

    with audio_stdout() as fd:
        check_stream_target(fd, routine_inputs(routine))  # before any speech is rendered
        built = build_session(routine, **pacing)
        check_stream_target(fd, built.routine.inputs)
        with progress_bar("Writing standard output") as progress:
            written = export_stream(built.timeline, built.bank, fd, fmt, progress)
    duration = format_clock(built.timeline.duration)
    click.echo(f"Wrote {written} to standard output ({duration})", err=True)


@contextmanager
def audio_stdout() -> Iterator[int]:
    """A descriptor for standard output, which meanwhile points at standard error: whatever
    else would be printed there (a library's chatter) cannot get into the audio."""
    try:
        sys.stdout.flush()
        stdout = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is a ValueError
        raise click.UsageError("-o -: standard output is not a file or pipe here") from None
    if os.isatty(stdout):
        raise click.UsageError(
            "-o -: standard output is a terminal, and audio would only garble it; "
            "send it to a file or a player instead: -o - > session.mp3, or -o - | mpv -"
        )
    audio = os.dup(stdout)
    saved = os.dup(stdout)
    os.dup2(sys.stderr.fileno(), stdout)
    try:
        yield audio
    finally:
        os.close(audio)
        os.dup2(saved, stdout)
        os.close(saved)


@click.command(short_help="Draw the session of ROUTINE (SVG or PNG).")
@click.argument("routine", shell_complete=complete_routine)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to draw: .svg (hover a spoken line's mark to read it) or .png.",
)
@pacing_options
def picture(routine: str, output: Path, **pacing: Any) -> None:
    """Draw the session of ROUTINE as a picture (SVG or PNG).

    Steps, reps, breaths, holds and spoken lines on a time axis in minutes, at your pacing.

    Example: coach picture wall-release -o wall-release.svg
    """
    from coach.picture import picture_svg
    from coach.picture_file import check_picture_target, write_picture
    from coach.session import routine_inputs

    check_picture_target(output, routine_inputs(routine))  # before any speech is rendered
    built = build_session(routine, **pacing)
    write_picture(picture_svg(built.timeline), output)
    click.echo(f"Wrote {output} ({format_clock(built.timeline.duration)})", err=True)
