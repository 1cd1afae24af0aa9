"""The options show, play, export and voices share: each pacing option reads its value like
the profile key of the same name (coach.settings), and the few option types click lacks."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

F = TypeVar("F", bound=Callable[..., Any])


class FiniteFloatRange(click.FloatRange):
    """click.FloatRange, which lets "nan" through (it compares as in range); this refuses it.

    Its range is said as every other option's is, in words ("1 to 240" in the help text,
    "from 1 to 240" in an error), never click's "[1<=x<=240]": `_describe_range` is empty,
    so click adds nothing to the help, and the option's help says the range itself.
    """

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if math.isnan(number) or not self._within(number):
            self.fail(f"expected a number {self.in_words()}, not {value!r}", param, ctx)
        return number

    def _within(self, number: float) -> bool:
        low = self.min is None or (number > self.min if self.min_open else number >= self.min)
        high = self.max is None or (number < self.max if self.max_open else number <= self.max)
        return low and high

    def in_words(self) -> str:
        """The range as the pacing options' errors say theirs: "from 1 to 240"."""
        low = f"more than {self.min:g}" if self.min_open else f"from {self.min:g}"
        high = f"under {self.max:g}" if self.max_open else f"to {self.max:g}"
        if self.min is None:
            return f"up {high}"
        if self.max is None:
            return low if self.min_open else f"of {self.min:g} or more"
        return f"{low} {high}" if not self.min_open else f"{low} and up {high}"

    def _describe_range(self) -> str:
        return ""


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
            help="Fit the session to about N minutes, 1 to 240 (holds, pauses, rests and "
            "reps scale).",
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


def complete_routine(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Shell completion of a ROUTINE (or check's FILE|DIR): the routine names that begin
    with what is typed, the .routine files in the folder typed so far, and the folders
    (the shell lists those itself, from the "dir" item; bash only when nothing else
    matches)."""
    from click.shell_completion import CompletionItem

    from coach import library

    # The folders first: click's bash script clears what came before a "dir" item.
    items = [CompletionItem(incomplete, type="dir")]
    # The names `coach play NAME` finds without a path: the built-ins and your folder's,
    # each once (one of yours may have a built-in's name), said which in zsh and fish.
    seen: set[str] = set()
    for entry in library.listing():
        if entry.name.startswith(incomplete) and entry.name not in seen:
            seen.add(entry.name)
            items.append(CompletionItem(entry.name, help="yours" if entry.yours else "built-in"))
    items += [CompletionItem(path) for path in _routine_files(incomplete)]
    return items


def _routine_files(incomplete: str) -> list[str]:
    """The .routine files whose path begins with `incomplete`, written as it is typed
    (`~/r` gives `~/r/back.routine`); hidden ones only when a dot is typed."""
    folder, start = os.path.split(incomplete)
    try:
        entries = list(os.scandir(os.path.expanduser(folder) or "."))
    except OSError:  # no such folder, or not allowed to list it: nothing to offer
        return []
    found = []
    for entry in entries:
        name = entry.name
        if not name.startswith(start) or not name.endswith(".routine"):
            continue
        if name.startswith(".") and not start.startswith("."):
            continue
        try:
            if entry.is_file():
                found.append(os.path.join(folder, name))
        except OSError:
            continue
    return sorted(found)
