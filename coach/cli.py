"""Command line: a thin click layer over the library; library errors become messages here."""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from coach import __version__
from coach.cli_check import check
from coach.cli_config import config_group
from coach.cli_library import help_command, new, source
from coach.cli_options import (
    FiniteFloatRange,
    cache_dir_option,
    complete_routine,
    engine_option,
    pacing_options,
    sample_pacing_options,
)
from coach.cli_output import audio_stdout, export, picture, show
from coach.cli_session import build_session, format_clock, pacing_overrides, progress_bar, switch
from coach.cli_session import with_profile as with_profile
from coach.cli_signals import SIGPIPE, stop_signals, stopped
from coach.diagnostics import AudioDeviceError, CoachError, RoutineError

if TYPE_CHECKING:
    from coach.compiler import Overrides
    from coach.device import OutputStream
    from coach.session import Session


class CoachGroup(click.Group):
    """Turns every CoachError into one clear message and a non-zero exit, never a traceback;
    Ctrl-C, SIGTERM and SIGHUP stop a command the same way (see `stop_signals`); standard
    output that cannot be written is one line too, a closed pipe a quiet exit (see
    `writing_stdout`: it covers --help and --version as well, which come before `invoke`)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        from coach.cli_stdout import writing_stdout

        with writing_stdout():
            return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with stop_signals():
                return super().invoke(ctx)
        except RoutineError as error:
            click.echo(error.render(), err=True)
            count = len([d for d in error.diagnostics if d.is_error])
            raise click.ClickException(
                f"{count:,} error{'s' if count != 1 else ''}; nothing was rendered"
            ) from None
        except CoachError as error:
            if _stream_closed(error):
                sys.exit(128 + SIGPIPE)  # the reader has gone (`| head`): nothing more to say
            raise click.ClickException(str(error)) from None
        except KeyboardInterrupt as interrupt:
            stopped(interrupt)


def _stream_closed(error: CoachError) -> bool:
    """Whether `error` is coach.export.StreamClosed. Only an export raises it, and importing
    coach.export just to ask would load numpy into `coach check`, which needs no audio stack."""
    export = sys.modules.get("coach.export")
    return export is not None and isinstance(error, export.StreamClosed)


@click.group(cls=CoachGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="coach")
def main() -> None:
    """coach: voice-guided audio sessions for self-massage and mobility routines.

    ROUTINE is a path to a .routine file, or a routine's name: NAME.routine in the
    current folder, then in your routine folder, then a built-in (see `coach list`).
    Run `coach COMMAND --help` for a command's options; the README shows how to turn on
    shell completion.

    Example: coach play wall-release
    """


@main.command(
    "list",
    short_help="List the routines with their title and length.",
    epilog="Example: coach list",
)
@cache_dir_option("Where rendered speech clips are kept [env: COACH_CACHE_DIR].")
def list_routines(cache_dir: Path | None) -> None:
    """List the built-in routines and yours, with their title and length.

    Yours are the .routine files in your routine folder (named below the list; the
    COACH_ROUTINES environment variable chooses another), marked "(yours)".

    Lengths come from the speech clips already made, without making any; a length marked
    "~" is estimated, because some of its lines have not been spoken yet (play or export the
    routine once to measure it).
    """
    from coach import library
    from coach.cli_library import listed_row
    from coach.effective import describe, length_keys
    from coach.profile import load_profile
    from coach.settings import overrides_from

    # At the profile's pacing, as show, play and export take it; only the keys that change a
    # length, so a profile's volume does not measure every routine again.
    profile = load_profile()
    pacing = length_keys(profile)
    overrides = overrides_from(pacing) if pacing else None  # None: the compiler stays unloaded
    where = cache_dir or profile.get("cache-dir")  # where show keeps the clips it measures
    for entry in library.listing():
        click.echo(listed_row(entry, where, overrides))
    folder = library.user_dir()  # on standard error: the list itself stays one row a routine
    click.echo(f"Your routines go in {folder} (coach new NAME --mine starts one).", err=True)
    if pacing:
        click.echo(f"Lengths at your profile's pacing: {describe(pacing)} (coach config show)")


main.add_command(check)
main.add_command(new)
main.add_command(source)
main.add_command(help_command)
main.add_command(config_group)
main.add_command(show)
main.add_command(export)
main.add_command(picture)


@main.command(short_help="Play ROUTINE live through the speakers.")
@click.argument("routine", shell_complete=complete_routine)
@click.option(
    "--from",
    "from_step",
    metavar="STEP",
    help="Start at STEP: its number, or its name as `coach show` lists it (any case; "
    "a beginning that only one step has is enough).",
)
@click.option(
    "--lead-in",
    type=FiniteFloatRange(0, 60, min_open=True),
    metavar="SECONDS",
    help="First a spoken countdown to get into position, SECONDS in all, more than 0 "
    "and up to 60 (with --from, the step follows it).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Go on from the step you stopped in last time (this routine at this pacing), "
    "after a short spoken countdown.",
)
@click.option(
    "--listen/--no-listen",
    default=None,
    help='Hear spoken commands on the microphone: "coach pause", "coach go on", "coach '
    'next", "coach back", "coach again", "coach where am I", "coach stop" (offline) '
    "[default: profile key listen, else off].",
)
@click.option(
    "--media-keys/--no-media-keys",
    default=None,
    help="Answer headphone and media buttons (an MPRIS player on the session D-Bus) "
    "[default: profile key media-keys, else on].",
)
@pacing_options
def play(
    routine: str,
    from_step: str | None,
    lead_in: float | None,
    resume: bool,
    listen: bool | None,
    media_keys: bool | None,
    **pacing: Any,
) -> None:
    """Play ROUTINE live through the speakers.

    In a terminal, single keys control it: space pauses and resumes, n or the right arrow
    skips to the next step, b or the left arrow goes back to the start of the step (twice
    quickly: the step before), a says the last line again, w says where you are, q quits
    and ? lists the keys. Headphone and media buttons work too, and with --listen so does
    your voice. Ctrl-C stops.

    Example: coach play wall-release --listen

    Example: coach play wall-release --resume  (go on where you stopped)
    """
    from coach.cli_resume import Sitting, exit_stopped, refuse_with_from
    from coach.compiler import Overrides
    from coach.live import LiveSession, UnknownStep, play_ranges, ranges_seconds
    from coach.status import KEYS_HINT

    refuse_with_from(resume, from_step)
    output = open_device(routine)  # before any speech is rendered: no device, no wait
    interrupted: KeyboardInterrupt | None = None
    try:
        sitting = Sitting(routine, pacing, pacing.get("engine"))
        lead_in = sitting.lead_in(resume, lead_in)
        built = build_session(
            routine, **pacing, extra=Overrides(lead_in=lead_in) if lead_in else None
        )
        timeline = built.timeline
        if resume:
            from_step = sitting.start_step(timeline)
        try:
            ranges, index = play_ranges(timeline, from_step)
        except UnknownStep as error:
            raise click.BadParameter(str(error), param_hint="'--from'") from None
        where = "" if index is None else f", from step {index + 1} of {len(timeline.chapters)}"
        total = format_clock(ranges_seconds(timeline, ranges))

        listening = switch("listen", listen, default=False)

        def announcement(keys: bool) -> str:
            hint = KEYS_HINT if keys else "Ctrl-C stops."
            heard = live.listener is not None  # listening was asked for, and works here
            voice = ' Say "coach pause", "coach next", "coach stop"...' if heard else ""
            return f"Playing {timeline.title} ({total}{where}). {hint}{voice}"

        echo = partial(click.echo, err=True)
        live = LiveSession(
            timeline, built.bank, ranges, announcement, echo, sys.stdin, sys.stderr, output,
            speaker=built.speak,
            listen=listening,
            media_keys=switch("media-keys", media_keys, default=True),
        )  # fmt: skip
        try:
            was_quit = live.run()
        except KeyboardInterrupt as stop:  # Ctrl-C, SIGTERM, SIGHUP: told as a quit is
            was_quit, interrupted = True, stop
        except AudioDeviceError:  # lost part way: keep the place and sum up, then say why
            if live.player.played:
                sitting.end(timeline, live.player.played, index, finished=False)
            raise
    except AudioDeviceError as error:
        raise click.ClickException(f"{error}. {export_hint(routine)}") from None
    finally:
        output.close()
    sitting.end(timeline, live.player.played, index, finished=not was_quit)
    if interrupted is not None:
        exit_stopped(interrupted)


SAMPLE_LINES = ("This is how I sound.", "Breathe in slowly, and breathe out with a long Ssss.")
DEFAULT_VOICE = "\0default"  # --sample without an ID; no voice id holds a NUL


@main.command(short_help="List the voices, or hear one with --sample.")
@click.option(
    "--sample",
    metavar="[ID]",
    is_flag=False,
    flag_value=DEFAULT_VOICE,  # --sample alone: the voice a session would use
    help="Speak a short sample in voice ID at your pacing (these options, else your "
    "profile); without ID, in the voice a session would use (your profile's, else the "
    "engine's).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --sample: write the sample to FILE (.mp3, .wav or .ogg; - for standard "
    "output) instead of playing it.",
)
@sample_pacing_options
@engine_option
@cache_dir_option("Where rendered speech clips are kept [env: COACH_CACHE_DIR].")
def voices(
    sample: str | None,
    output: Path | None,
    cache_dir: Path | None,
    engine: str | None,
    **pacing: Any,
) -> None:
    """List the voices of every installed speech engine (engine, id, name), or with --engine
    one engine's (id, name); or hear one with --sample.

    Example: coach voices --sample gmw/en-us --rate 130
    """
    if sample is None:
        given = [f"--{k}" for k, v in pacing.items() if v is not None] + ["-o"] * bool(output)
        if given:
            named = ", ".join(given[:-1]) + " and " + given[-1] if len(given) > 1 else given[0]
            raise click.UsageError(f"{named} can only be used with --sample (a voice sample)")
        list_voices(engine)
        return
    voice = None if sample == DEFAULT_VOICE else sample
    sample = "the default voice" if voice is None else sample  # for the messages
    command_line = pacing_overrides(voice=voice, **pacing)
    if output is not None:
        write_sample(sample, command_line, cache_dir, output, engine)
        return
    built = voice_sample(sample, command_line, cache_dir, engine)
    from coach.player import play as play_timeline

    click.echo(f"Playing a sample of {sample}. Ctrl-C stops.", err=True)
    play_timeline(built.timeline, built.bank)


def list_voices(engine: str | None) -> None:
    """`coach voices`: every installed engine's voices; `--engine X`: X's, as --voice takes
    them with that engine."""
    from coach.engines import installed_names, make_engine

    if engine is not None:
        for voice in make_engine(engine).voices():
            click.echo(f"{voice.id:<28} {voice.name}")
        return
    for name in installed_names():
        try:
            found = make_engine(name).voices()
        except CoachError as error:
            click.echo(f"warning: {name}: {error}", err=True)
            continue
        for voice in found:
            click.echo(f"{name:<9} {voice.id:<28} {voice.name}")


def write_sample(
    sample: str,
    command_line: Overrides,
    cache_dir: Path | None,
    output: Path,
    engine: str | None = None,
) -> None:
    """`coach voices --sample ID -o FILE` (or `-o -`, standard output)."""
    from coach.export import check_target, export, export_stream

    if str(output) == "-":
        with audio_stdout() as fd:
            built = voice_sample(sample, command_line, cache_dir, engine)
            export_stream(built.timeline, built.bank, fd, None)
        written = "standard output"
    else:
        check_target(output)  # before any speech is rendered
        built = voice_sample(sample, command_line, cache_dir, engine)
        written = str(export(built.timeline, built.bank, output))
    length = format_clock(built.timeline.duration)  # as every length: m:ss
    click.echo(f"Wrote {written} (a {length} sample of {sample})", err=True)


def open_device(routine: str) -> OutputStream:
    """The audio device for `coach play ROUTINE`, or one message that names the export to
    make instead."""
    from coach.device import open_output
    from coach.session import SAMPLE_RATE, routine_channels

    try:
        return open_output(SAMPLE_RATE, routine_channels(routine))
    except AudioDeviceError as error:
        raise click.ClickException(f"{error}. {export_hint(routine)}") from None


def export_hint(routine: str) -> str:
    """What to run instead of playing `routine` on this machine."""
    import shlex

    stem = Path(routine).stem if routine.endswith(".routine") else Path(routine).name
    target = shlex.quote(f"{stem or 'session'}.mp3")
    command = f"coach export {shlex.quote(routine)} -o {target}"
    return f"Export the session to play it elsewhere: {command}"


def voice_sample(
    voice: str, command_line: Overrides, cache_dir: Path | None, engine: str | None = None
) -> Session:
    """SAMPLE_LINES in `voice`, through coach's own pipeline (a two-line routine), at the
    command line's pacing over the profile's; without the session's closing bell."""
    import tempfile
    from dataclasses import replace

    from coach import session

    overrides, profile_cache_dir = with_profile(command_line, live=False)
    text = "title: Voice sample\n\n" + "".join(f"say: {line}\n" for line in SAMPLE_LINES)
    with tempfile.TemporaryDirectory(prefix="coach-sample-") as directory:
        routine = Path(directory) / "sample.routine"
        routine.write_text(text, encoding="utf-8")
        with progress_bar("Rendering speech") as progress:
            where = cache_dir or profile_cache_dir
            built = session.build(str(routine), overrides, where, progress, engine=engine)
    timeline = built.timeline
    spoken = [e for e in timeline.events if e.kind == "speech"]
    tail = round(0.3 * timeline.sample_rate)
    built.timeline = replace(timeline, events=spoken, length=max(e.end for e in spoken) + tail)
    return built
