"""`coach config`: show and change the profile (coach.profile) from the command line."""

from __future__ import annotations

import click


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


@click.group("config", help=config_help())
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
