"""The options show, play, export and voices share: each pacing option reads its value like
the profile key of the same name (coach.settings), and the few option types click lacks."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


class FiniteFloatRange(click.FloatRange):
    """click.FloatRange, which lets "nan" through (it compares as in range); this refuses it."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if isinstance(number, float) and math.isnan(number):
            self.fail(f"{value!r} is not a number.", param, ctx)
        return number


class CacheDirType(click.Path):
    """--cache-dir and COACH_CACHE_DIR: `~` and `~/clips` are in the home directory, and a
    blank value means not set (the default), as an empty one does."""

    def __init__(self) -> None:
        super().__init__(file_okay=False, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str):
            if not value.strip():
                return None
            if "\0" in value:
                self.fail(f"{value!r}: a directory name cannot hold a NUL character", param, ctx)
            value = os.path.expanduser(value.strip())
        return super().convert(value, param, ctx)


def cache_dir_option(help: str) -> Callable[[F], F]:
    return click.option("--cache-dir", type=CacheDirType(), envvar="COACH_CACHE_DIR", help=help)


class SettingType(click.ParamType):  # type: ignore[type-arg]  # generic in click 8.2+
    """A pacing option read by the same parser as its profile key (coach.profile.SETTINGS)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.name = key

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from coach.settings import SETTINGS, SettingError

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
    "loudness",
)


def setting_option(key: str) -> Callable[[F], F]:
    """`--KEY`, read like the profile's KEY, with its metavar and help from coach.profile."""
    from coach.settings import SETTINGS

    found = SETTINGS[key]
    return click.option(f"--{key}", type=SettingType(key), metavar=found.metavar, help=found.help)


def engine_option(function: F) -> F:
    """`--engine NAME|COMMAND` (also COACH_ENGINE), read like the profile's `engine`."""
    from coach.settings import SETTINGS

    found = SETTINGS["engine"]
    option = click.option(
        "--engine",
        type=SettingType("engine"),
        envvar="COACH_ENGINE",
        metavar=found.metavar,
        help=found.help,
    )
    return option(function)


def pacing_options(function: F) -> F:
    """The listener's pacing options, shared by show, play and export.

    Each reads its value like the profile key of the same name; what is not given here comes
    from the profile (see build_session).
    """
    options = [setting_option(key) for key in PACING_KEYS]
    options += [
        engine_option,
        click.option(
            "--minutes",
            type=FiniteFloatRange(1, 240),
            metavar="N",
            help="Fit the session to about N minutes (holds, pauses, rests and reps scale).",
        ),
        cache_dir_option(
            "Where rendered speech clips are kept [env: COACH_CACHE_DIR; default: "
            "profile, else audio_cache/ in a checkout, else the user cache]."
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


SAMPLE_KEYS = ("rate", "pitch", "volume", "gap")


def sample_pacing_options(function: F) -> F:
    """The pacing options a voice sample uses: rate, pitch, volume and gap."""
    for key in reversed(SAMPLE_KEYS):
        function = setting_option(key)(function)
    return function
