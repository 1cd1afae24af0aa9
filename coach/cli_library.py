"""Command line: `coach new`, `coach source` and `coach help`: routines and docs to start from."""

from __future__ import annotations

import shlex
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import click

from coach.diagnostics import CoachError, RoutineError

if TYPE_CHECKING:
    from coach.compiler import Overrides
    from coach.library import Listed

# `coach help TOPIC`: documents shipped inside the package (coach/docs/, package data), so
# an installed coach has them; tests/test_user_routines.py keeps each the same as its
# source in the repository's docs/.
HELP_TOPICS = {"language": ("routine-language.md", "the routine language: every statement")}


@click.command(short_help="Write NAME.routine: a starter or a built-in's copy.")
@click.argument("name")
@click.option(
    "--from",
    "from_routine",
    metavar="BUILTIN",
    help="Start from a copy of the built-in routine BUILTIN (see `coach list`) instead of "
    "the commented starter.",
)
@click.option(
    "--mine",
    is_flag=True,
    help="Write it into your routine folder (see `coach list`) instead of the current folder.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def new(name: str, from_routine: str | None, mine: bool, force: bool) -> None:
    """Write NAME.routine to edit: a commented starter, or a built-in's copy.

    Example: coach new morning --from wall-release
    """
    from coach.library import builtin_source
    from coach.starter import in_your_folder, shell_word, write_starter

    text = builtin_source(from_routine) if from_routine is not None else None
    path = write_starter(in_your_folder(name) if mine else name, force, text)
    quoted = shell_word(str(path))  # pasted into a shell, "Morning Stretch" stays one word
    click.echo(f"Wrote {path}. Next:\n  coach check {quoted}\n  coach play {quoted}", err=True)


@click.command(short_help="Print a built-in routine's text.")
@click.argument("name")
def source(name: str) -> None:
    """Print the text of the built-in routine NAME, exactly as shipped.

    coach:safety and coach:sicherheit print the shared safety openings that any routine can
    include by that name.

    Example: coach source wall-release > my-wall.routine
    """
    from coach.library import builtin_source

    sys.stdout.buffer.write(builtin_source(name))  # bytes: exactly the file, line ends and all
    sys.stdout.buffer.flush()


@click.command("help", short_help="Print the routine language reference.")
@click.argument("topic", required=False)
@click.pass_context
def help_command(ctx: click.Context, topic: str | None) -> None:
    """Print a reference shipped with coach: TOPIC is language, or a command's name.

    Example: coach help language
    """
    root = ctx.find_root()
    group = root.command
    assert isinstance(group, click.Group)  # `help` is only ever a command of coach's group
    if topic is None:
        lines = [f"  coach help {name:<10} {about}" for name, (_, about) in HELP_TOPICS.items()]
        lines.append(f"  coach help {'COMMAND':<10} a command's options, as COMMAND --help")
        click.echo("Topics:\n" + "\n".join(lines))
        return
    if topic in HELP_TOPICS:
        click.echo_via_pager(help_text(topic))
        return
    command = group.get_command(ctx, topic)
    if command is None:
        names = [*HELP_TOPICS, *group.list_commands(ctx)]
        raise click.UsageError(f"no help topic '{topic}'; topics: {', '.join(names)}")
    with click.Context(command, info_name=topic, parent=root) as sub:
        click.echo(command.get_help(sub))


def help_text(topic: str) -> str:
    """The shipped document of a `coach help` topic."""
    file_name, _ = HELP_TOPICS[topic]
    return (resources.files("coach") / "docs" / file_name).read_text(encoding="utf-8")


def listed_row(entry: Listed, cache_dir: Path | None, overrides: Overrides | None) -> str:
    """`coach list`'s line for one routine; yours are marked, and one that cannot be
    measured (yours has an error, say) is listed with what to run rather than failing."""
    from coach import measured
    from coach.cli_session import format_clock

    try:
        title, seconds, exact = measured.measure(str(entry.path), cache_dir, overrides)
        length = ("" if exact else "~") + format_clock(seconds)
    except RoutineError as error:
        count = sum(d.is_error for d in error.diagnostics)
        length, title = "?", f"{count} error{'s' * (count != 1)}: coach check {_quoted(entry)}"
    except CoachError as error:
        length, title = "?", str(error)
    mark = "  (yours)" if entry.yours else "  (yours of that name comes first)" * entry.shadowed
    return f"{entry.name:<22} {length:>6}  {title}{mark}"


def _quoted(entry: Listed) -> str:
    return shlex.quote(str(entry.path))
