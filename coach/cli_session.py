"""What the commands that build a session share: options to overrides over the profile,
the pipeline run with its warnings on stderr, a progress bar, and a session's length."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from coach.compiler import Overrides
    from coach.session import Session


def build_session(
    routine: str,
    cache_dir: Path | None = None,
    minutes: float | None = None,
    extra: Overrides | None = None,
    *,
    live: bool | None = None,
    engine: str | None = None,
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
            routine,
            overrides,
            cache_dir or profile_cache_dir,
            progress,
            minutes=minutes,
            engine=engine,  # None: COACH_ENGINE, else the profile's, else the default
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
            fitted = bar_layout(label, _columns(sys.stderr))
            state["bar"] = click.progressbar(length=total, file=sys.stderr, **fitted)
            state["bar"].__enter__()
        bar = state["bar"]
        bar.update(done - bar.pos)

    try:
        yield update
    finally:
        if "bar" in state:
            state["bar"].__exit__(None, None, None)


# click's bar: "LABEL  [BAR]  INFO", INFO at most "100%  00:00:12" (with its estimate of
# the time left) or "100%" (without).
BAR_CLUTTER = len("  [" + "]  ")
INFO_WITH_ETA = len("100%  00:00:12")
INFO_WITHOUT_ETA = len("100%")
WIDEST_BAR = 36


def bar_layout(label: str, columns: int) -> dict[str, Any]:
    """click.progressbar's label, bar width and show_eta for a terminal `columns` wide: the
    whole line stays off the last column, or the terminal wraps it and every repaint
    starts a new line. The estimate of the time left goes first, then the label is
    shortened with an ellipsis; the bar keeps at least 10 characters."""
    usable = columns - 1
    for info, eta, least in ((INFO_WITH_ETA, True, 20), (INFO_WITHOUT_ETA, False, 10)):
        bar = usable - len(label) - BAR_CLUTTER - info
        if bar >= least:
            return {"label": label, "width": min(bar, WIDEST_BAR), "show_eta": eta}
    room = max(2, usable - BAR_CLUTTER - INFO_WITHOUT_ETA - 10)
    if len(label) > room:
        mark = _ellipsis(sys.stderr)
        label = label[: max(0, room - len(mark))].rstrip() + mark
    bar = usable - len(label) - BAR_CLUTTER - INFO_WITHOUT_ETA
    return {"label": label, "width": max(1, bar), "show_eta": False}


def _columns(stream: Any) -> int:
    """The width of the terminal `stream` writes to (80 when it cannot tell)."""
    import os

    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 80


def _ellipsis(stream: Any) -> str:
    """One-column "…" where the stream can write it, else "..."."""
    try:
        "\u2026".encode(getattr(stream, "encoding", None) or "ascii")
        return "\u2026"
    except (UnicodeEncodeError, LookupError):
        return "..."


def format_clock(seconds: float) -> str:
    """A session's length for a message: coach.units.format_length, the one rounding rule."""
    from coach.units import format_length

    return format_length(seconds)


def switch(key: str, given: bool | None, default: bool) -> bool:
    """An on/off setting of `coach play`: the command line's, else the profile's, else
    `default`."""
    from coach import profile

    if given is not None:
        return given
    found = profile.load_profile(profile.profile_path()).get(key)
    return default if found is None else bool(found)
