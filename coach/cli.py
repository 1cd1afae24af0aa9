"""Command line: a thin click layer over the library; library errors become messages here."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from coach import __version__
from coach.diagnostics import AudioDeviceError, CoachError, RoutineError

if TYPE_CHECKING:
    from coach.compiler import Overrides
    from coach.device import OutputStream
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


class SettingType(click.ParamType):  # type: ignore[type-arg]  # generic in click 8.2+
    """A pacing option read by the same parser as its profile key (coach.profile.SETTINGS)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.name = key

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from coach.profile import SETTINGS, SettingError

        if not isinstance(value, str):
            return value  # already read
        try:
            return SETTINGS[self.key].read(value)
        except SettingError as error:
            self.fail(str(error), param, ctx)


# The pacing options of show, play and export, in --help order; each is a profile key too.
PACING_KEYS = (
    "rate",
    "voice",
    "pitch",
    "volume",
    "click-volume",
    "gap",
    "tempo",
    "slower",
    "faster",
    "breath",
)


def setting_option(key: str) -> Callable[[F], F]:
    """`--KEY`, read like the profile's KEY, with its metavar and help from coach.profile."""
    from coach.profile import SETTINGS

    found = SETTINGS[key]
    return click.option(f"--{key}", type=SettingType(key), metavar=found.metavar, help=found.help)


def pacing_options(function: F) -> F:
    """The listener's pacing options, shared by show, play and export.

    Each reads its value like the profile key of the same name; what is not given here comes
    from the profile (see build_session).
    """
    options = [setting_option(key) for key in PACING_KEYS]
    options += [
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
            help="Where rendered speech clips are kept [env: COACH_CACHE_DIR; default: "
            "profile, else audio_cache/ in a checkout, else the user cache].",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def build_session(
    routine: str,
    cache_dir: Path | None = None,
    minutes: float | None = None,
    extra: Overrides | None = None,
    *,
    live: bool | None = None,
    **pacing: Any,
) -> Session:
    """Run the pipeline for a command: options become overrides; warnings and notes go to stderr.

    `pacing` holds the pacing options' values by keyword (see `pacing_overrides`). The command
    line (these options, then `extra` over them) beats the profile, which beats the routine's
    settings (coach.profile.with_profile). The profile's lead-in applies to live sessions
    only: `live`, which defaults to whether the running command is `play`.
    """
    from coach import session
    from coach.profile import SettingError

    try:
        command_line = pacing_overrides(**pacing)
    except SettingError as error:  # more than one of --tempo, --slower and --faster
        raise click.UsageError(str(error), click.get_current_context(silent=True)) from None
    if extra is not None:
        command_line = extra.over(command_line)
    overrides, profile_cache_dir = with_profile(command_line, live)
    with progress_bar("Rendering speech") as progress:
        built = session.build(
            routine, overrides, cache_dir or profile_cache_dir, progress, minutes=minutes
        )
    for warning in built.warnings:
        click.echo(warning.render(), err=True)
    for note in built.notes:
        click.echo(note, err=True)
    return built


def pacing_overrides(**values: Any) -> Overrides:
    """Overrides from pacing option values (keyword names as in `PACING_KEYS`, `_` for `-`);
    SettingError for more than one of tempo, slower and faster."""
    from coach.profile import command_line_overrides

    return command_line_overrides({key.replace("_", "-"): v for key, v in values.items()})


def with_profile(
    command_line: Overrides, live: bool | None = None
) -> tuple[Overrides, Path | None]:
    """coach.profile.with_profile; `live` is by default whether the running command is `play`."""
    from coach import profile

    if live is None:
        ctx = click.get_current_context(silent=True)
        live = ctx is not None and ctx.command.name == "play"
    return profile.with_profile(command_line, live)


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
@click.option(
    "--from",
    "from_step",
    metavar="STEP",
    help="Start at STEP: its number, or its name as `coach show` lists it (any case; "
    "a beginning that only one step has is enough).",
)
@click.option(
    "--lead-in",
    type=click.FloatRange(0, 60, min_open=True),
    metavar="SECONDS",
    help="First a spoken countdown to get into position, SECONDS in all "
    "(with --from, the step follows it).",
)
@pacing_options
def play(routine: str, from_step: str | None, lead_in: float | None, **pacing: Any) -> None:
    """Play ROUTINE live through the speakers.

    In a terminal, single keys control it: space pauses and resumes, n skips to the next
    step, b goes back to the start of the step (twice quickly: the step before), q quits
    and ? lists the keys. Ctrl-C stops.
    """
    from coach.compiler import Overrides
    from coach.live import LiveSession, UnknownStep, play_ranges, ranges_seconds
    from coach.status import KEYS_HINT

    output = open_device(routine)  # before any speech is rendered: no device, no wait
    try:
        built = build_session(
            routine, **pacing, extra=Overrides(lead_in=lead_in) if lead_in else None
        )
        timeline = built.timeline
        try:
            ranges, index = play_ranges(timeline, from_step)
        except UnknownStep as error:
            raise click.BadParameter(str(error), param_hint="'--from'") from None
        where = "" if index is None else f", from step {index + 1} of {len(timeline.chapters)}"
        total = format_clock(ranges_seconds(timeline, ranges))

        def announcement(keys: bool) -> str:
            hint = KEYS_HINT if keys else "Ctrl-C stops."
            return f"Playing {timeline.title} ({total}{where}). {hint}"

        echo = partial(click.echo, err=True)
        live = LiveSession(
            timeline, built.bank, ranges, announcement, echo, sys.stdin, sys.stderr, output
        )
        stopped = live.run()
    except KeyboardInterrupt:
        click.echo("Stopped.", err=True)
        sys.exit(130)
    except AudioDeviceError as error:
        raise click.ClickException(f"{error}. {export_hint(routine)}") from None
    finally:
        output.close()
    click.echo("Stopped." if stopped else "Done.", err=True)


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
    from coach.export import check_target
    from coach.export import export as export_timeline
    from coach.session import routine_inputs

    check_target(output, fmt, routine_inputs(routine))  # before any speech is rendered
    built = build_session(routine, **pacing)
    with progress_bar(f"Writing {output.name}") as progress:
        written = export_timeline(
            built.timeline, built.bank, output, fmt, progress, built.routine.inputs
        )
    click.echo(f"Wrote {written} ({format_clock(built.timeline.duration)})", err=True)


@main.command()
@click.argument("name")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def new(name: str, force: bool) -> None:
    """Write NAME.routine: a commented starter routine to edit."""
    from coach.starter import write_starter

    path = write_starter(name, force)
    click.echo(f"Wrote {path}. Next: coach check {path}, then coach play {path}", err=True)


SAMPLE_LINES = ("This is how I sound.", "Breathe in slowly, and breathe out with a long Ssss.")
SAMPLE_KEYS = ("rate", "pitch", "volume", "gap")


def sample_pacing_options(function: F) -> F:
    """The pacing options a voice sample uses: rate, pitch, volume and gap."""
    for key in reversed(SAMPLE_KEYS):
        function = setting_option(key)(function)
    return function


@main.command()
@click.option(
    "--sample",
    metavar="ID",
    help="Speak a short sample in voice ID at your pacing (these options, else your profile).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --sample: write the sample to FILE (.mp3, .wav or .ogg) instead of playing it.",
)
@sample_pacing_options
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="COACH_CACHE_DIR",
    help="Where rendered speech clips are kept [env: COACH_CACHE_DIR].",
)
def voices(sample: str | None, output: Path | None, cache_dir: Path | None, **pacing: Any) -> None:
    """List the voices the speech engine offers (id, then name), or hear one with --sample."""
    if sample is None:
        given = [f"--{k}" for k, v in pacing.items() if v is not None] + ["-o"] * bool(output)
        if given:
            raise click.UsageError(f"{', '.join(given)} go with --sample ID")
        from coach.speech import Pyttsx3Engine

        for voice in Pyttsx3Engine().voices():
            click.echo(f"{voice.id:<28} {voice.name}")
        return
    built = voice_sample(sample, pacing_overrides(voice=sample, **pacing), cache_dir)
    if output is not None:
        from coach.export import export as export_timeline

        written = export_timeline(built.timeline, built.bank, output)
        click.echo(f"Wrote {written} ({built.timeline.duration:.1f}s sample of {sample})", err=True)
        return
    from coach.player import play as play_timeline

    click.echo(f"Playing a sample of {sample}. Ctrl-C stops.", err=True)
    play_timeline(built.timeline, built.bank)


def open_device(routine: str) -> OutputStream:
    """The audio device for `coach play ROUTINE`, or one message that names the export to
    make instead."""
    from coach.device import open_output
    from coach.session import SAMPLE_RATE

    try:
        return open_output(SAMPLE_RATE)
    except AudioDeviceError as error:
        raise click.ClickException(f"{error}. {export_hint(routine)}") from None


def export_hint(routine: str) -> str:
    """What to run instead of playing `routine` on this machine."""
    import shlex

    stem = Path(routine).stem if routine.endswith(".routine") else Path(routine).name
    target = shlex.quote(f"{stem or 'session'}.mp3")
    command = f"coach export {shlex.quote(routine)} -o {target}"
    return f"Export the session to play it elsewhere: {command}"


def voice_sample(voice: str, command_line: Overrides, cache_dir: Path | None) -> Session:
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
            built = session.build(str(routine), overrides, cache_dir or profile_cache_dir, progress)
    timeline = built.timeline
    spoken = [e for e in timeline.events if e.kind == "speech"]
    tail = round(0.3 * timeline.sample_rate)
    built.timeline = replace(timeline, events=spoken, length=max(e.end for e in spoken) + tail)
    return built


def config_help() -> str:
    import textwrap

    from coach.profile import SETTINGS

    keys = "\n".join(
        textwrap.fill(s.help, 76, initial_indent=f"  {key:<14}", subsequent_indent=" " * 16)
        for key, s in SETTINGS.items()
    )
    return (
        "Your profile: your own pacing for show, play and export.\n\n"
        "A TOML file at $COACH_CONFIG, else in your user config directory (see\n"
        "`coach config path`). An option on the command line beats the profile, and the\n"
        "profile beats the routine's own settings.\n\n"
        "\b\nKeys (each takes the values its --option takes):\n" + keys
    )


@main.group("config", help=config_help())
def config_group() -> None:
    pass


def _known_key(key: str) -> None:
    from coach.profile import SETTINGS, ProfileError, setting

    if key not in SETTINGS:
        try:
            setting(key)
        except ProfileError as error:
            raise click.BadParameter(str(error), param_hint="KEY") from None


@config_group.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("key")
@click.argument("value")
def config_set(key: str, value: str) -> None:
    """Set KEY to VALUE in your profile, e.g.: coach config set rate 130

    KEY is a pacing option's name without the dashes (see `coach config --help`); VALUE is
    read and checked like that option's value.
    """
    from coach import profile

    _known_key(key)
    try:
        read = profile.SETTINGS[key].read(value)
    except profile.SettingError as error:
        raise click.BadParameter(str(error), param_hint=repr(key)) from None
    if key == "voice":
        from coach.speech import Pyttsx3Engine

        value = Pyttsx3Engine().resolve_voice(read) or read  # unknown: error with did-you-mean
    elif key == "cache-dir":
        value = str(read.absolute())
    path = profile.profile_path()
    replaced = profile.set_value(key, value, path)
    stored = profile.dumps({key: profile.SETTINGS[key].read(value)}).strip()
    click.echo(f"Set {stored} in {path}", err=True)
    for other in replaced:
        click.echo(f"Removed {other}: tempo, slower and faster are one setting.", err=True)


@config_group.command("unset")
@click.argument("key")
def config_unset(key: str) -> None:
    """Remove KEY from your profile, so the routine's setting or the default applies."""
    from coach import profile

    path = profile.profile_path()
    if key not in profile.read_document(path):
        _known_key(key)
    if profile.unset_value(key, path):
        click.echo(f"Removed {key} from {path}", err=True)
    else:
        click.echo(f"{key} was not set in {path}", err=True)


@config_group.command("show")
def config_show() -> None:
    """Print your profile's path and each KEY = VALUE in it."""
    from coach import profile

    path = profile.profile_path()
    values = profile.load_profile(path)
    if not path.exists():
        click.echo(f"# {path}")
        click.echo("# No profile yet. Create one with, e.g.: coach config set rate 130")
        return
    click.echo(f"# {path}")
    click.echo(profile.dumps(values).rstrip("\n") if values else "# (no settings)")


@config_group.command("path")
def config_path() -> None:
    """Print where your profile is (it may not exist yet)."""
    from coach.profile import profile_path

    click.echo(str(profile_path()))


def format_clock(seconds: float) -> str:
    whole = int(round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"
