"""`coach config`: show and change the profile (coach.profile) from the command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def _show_options(function: F) -> F:
    """`config show`'s options: the pacing options of show, play and export, play's
    --lead-in, --engine and --cache-dir, read as those commands read them."""
    from coach.cli_options import PACING_KEYS, cache_dir_option, engine_option, setting_option

    options = [setting_option(key) for key in (*PACING_KEYS, "lead-in")]
    options += [engine_option, cache_dir_option("Where rendered speech clips are kept.")]
    for option in reversed(options):
        function = option(function)
    return function


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
        "\b\nKeys (each takes the values its --option takes):\n" + keys + "\n\n"
        "Example: coach config set rate 130"
    )


@click.group(
    "config",
    help=config_help(),
    short_help="Your profile: your own pacing for show, play and export.",
)
def config_group() -> None:
    pass


def _known_key(key: str) -> None:
    from coach.profile import SETTINGS, ProfileError, setting

    if key not in SETTINGS:
        try:
            setting(key)
        except ProfileError as error:
            raise click.BadParameter(str(error), param_hint="KEY") from None


@config_group.command(
    "set",
    short_help="Set KEY to VALUE in your profile.",
    context_settings={"ignore_unknown_options": True},
)
@click.argument("key")
@click.argument("value")
def config_set(key: str, value: str) -> None:
    """Set KEY to VALUE in your profile.

    KEY is a pacing option's name without the dashes (see `coach config --help`); VALUE is
    read and checked like that option's value.

    Example: coach config set rate 130
    """
    from coach import profile

    _known_key(key)
    try:
        read = profile.SETTINGS[key].read(value)
    except profile.SettingError as error:
        raise click.BadParameter(str(error), param_hint=repr(key)) from None
    if key == "voice":
        from coach.engine import find_voice
        from coach.engines import make_engine

        value = find_voice(read, make_engine().voices())  # unknown: error with did-you-mean
    elif key == "cache-dir":
        value = str(read.absolute())
    path = profile.profile_path()
    replaced = profile.set_value(key, value, path)
    stored = profile.dumps({key: profile.SETTINGS[key].read(value)}).strip()
    click.echo(f"Set {stored} in {path}", err=True)
    for other in replaced:
        click.echo(f"Removed {other}: tempo, slower and faster are one setting.", err=True)


@config_group.command("unset", short_help="Remove KEY from your profile.")
@click.argument("key")
def config_unset(key: str) -> None:
    """Remove KEY from your profile, so the routine's setting or the default applies.

    Example: coach config unset rate
    """
    from coach import profile

    path = profile.profile_path()
    if key not in profile.read_document(path):
        _known_key(key)
    if profile.unset_value(key, path):
        click.echo(f"Removed {key} from {path}", err=True)
    else:
        click.echo(f"{key} was not set in {path}", err=True)


@config_group.command("show", short_help="Print your profile and where each setting comes from.")
@click.argument("routine", required=False)
@_show_options
def config_show(routine: str | None, **given: Any) -> None:
    """Print your profile and each setting's value and where it comes from.

    Without ROUTINE: your profile's path and each KEY = VALUE in it (TOML, as before), then
    every setting as a session takes it: from the profile or the default, as # comments.
    With ROUTINE, or options: a table of key, value and from (command line, environment,
    profile, routine or default), the routine's own settings and language included.

    Example: coach config show wall-release --rate 120
    """
    from coach import effective, profile

    path = profile.profile_path()
    values = profile.load_profile(path)
    ctx = click.get_current_context()
    given = {key.replace("_", "-"): value for key, value in given.items()}
    try:  # refused as show, play and export refuse it: --tempo with --slower, ...
        profile.command_line_overrides(given)
    except profile.SettingError as error:
        raise click.UsageError(str(error), ctx) from None
    for key in ("engine", "cache-dir"):  # click reads COACH_ENGINE and COACH_CACHE_DIR in too
        source = ctx.get_parameter_source(key.replace("-", "_"))
        if source is not click.core.ParameterSource.COMMANDLINE:
            given[key] = None
    if routine is None and not any(v is not None for v in given.values()):
        _profile_file(path, values)
        rows = effective.table(values)
        click.echo("\n# Each setting as show, play and export take it (coach config show ROUTINE")
        click.echo("# adds the routine's own):")
        click.echo("\n".join(f"# {line}" for line in effective.render(rows).splitlines()))
        return
    checked = None
    if routine is not None:
        from coach.session import load_checked

        checked = load_checked(routine).routine
    rows = effective.table(values, given, checked)
    what = f"A session of {routine}" if routine is not None else "A session"
    click.echo(f"{what}, with your profile {path}:")
    click.echo(effective.render(rows))


def _profile_file(path: Path, values: dict[str, Any]) -> None:
    """The profile as `coach config show` has always printed it: a # line with its path,
    then its KEY = VALUE lines (TOML: scripts read it)."""
    from coach import profile

    click.echo(f"# {path}")
    if not path.exists():
        click.echo("# No profile yet. Create one with, e.g.: coach config set rate 130")
        return
    click.echo(profile.dumps(values).rstrip("\n") if values else "# (no settings)")


@config_group.command("path", short_help="Print where your profile is.")
def config_path() -> None:
    """Print where your profile is (it may not exist yet).

    Example: coach config path
    """
    from coach.profile import profile_path

    click.echo(str(profile_path()))
