"""Player commands: the one table that keys, voice and media buttons are read through."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """One thing a listener can ask of the player, and every way to ask it."""

    name: str  # what the player is told (coach.feed / coach.player)
    does: str  # for help texts and the README's table
    keys: tuple[str, ...] = ()  # characters read from the terminal (letters in either case)
    key_labels: tuple[str, ...] = ()  # how help texts name the keys
    phrase: str = ""  # the words that say it, when voice commands are on
    media: tuple[str, ...] = ()  # MPRIS methods (headphone and media buttons) that send it


COMMANDS: tuple[Command, ...] = (
    Command("toggle", "pause, or go on after a pause", (" ",), ("space",), "", ("PlayPause",)),
    Command("pause", "pause", (), (), "coach pause", ("Pause",)),
    Command("resume", "go on after a pause", (), (), "coach go on", ("Play",)),
    Command("next", "skip to the next step", ("n",), ("n", "right arrow"), "coach next", ("Next",)),
    Command(
        "back",
        "back to the start of this step (twice quickly: the step before)",
        ("b",),
        ("b", "left arrow"),
        "coach back",
        ("Previous",),
    ),
    Command("again", "say the last spoken line again", ("a",), ("a",), "coach again"),
    Command("where", "say where you are: step and rep", ("w",), ("w",), "coach where am I"),
    Command("quit", "stop the session", ("q",), ("q",), "coach stop", ("Stop",)),
)

NAMES: tuple[str, ...] = tuple(command.name for command in COMMANDS)
BY_NAME = {command.name: command for command in COMMANDS}
BY_KEY = {key: command.name for command in COMMANDS for key in command.keys}
BY_PHRASE = {command.phrase.lower(): command.name for command in COMMANDS if command.phrase}
BY_MEDIA = {method: command.name for command in COMMANDS for method in command.media}
#: Arrow keys, by the last character of their escape sequence.
ARROWS = {"C": "next", "D": "back"}


def phrases() -> list[str]:
    """Every voice command's words, lower case, in table order."""
    return list(BY_PHRASE)


def markdown_table() -> str:
    """The commands as the README's table: what, key, voice, media button."""
    rows = ["| What it does | Key | Say | Media button |", "|---|---|---|---|"]
    for command in COMMANDS:
        keys = " or ".join(f"`{label}`" for label in command.key_labels) or "-"
        phrase = f'"{command.phrase}"' if command.phrase else "-"
        media = ", ".join(command.media) or "-"
        does = command.does[0].upper() + command.does[1:]
        rows.append(f"| {does} | {keys} | {phrase} | {media} |")
    return "\n".join(rows)
