"""The README's table of commands is the one in coach.commands, and every way in reaches it."""

from __future__ import annotations

from pathlib import Path

from coach import commands
from coach.keys import KEYS, decode
from coach.status import HELP

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_shows_the_commands_table_as_coach_has_it() -> None:
    text = README.read_text()
    start = text.index("<!-- commands table")
    table = text[text.index("\n", start) + 1 : text.index("<!-- end of commands table")]
    assert table.strip() == commands.markdown_table()


def test_every_key_of_the_table_is_read_from_the_terminal() -> None:
    for command in commands.COMMANDS:
        for key in command.keys:
            assert decode(key.encode()) == [command.name]
            assert KEYS[key] == command.name


def test_the_arrow_keys_skip_and_go_back() -> None:
    assert decode(b"\x1b[C\x1b[D") == ["next", "back"]


def test_the_help_lists_every_command_with_a_key() -> None:
    for command in commands.COMMANDS:
        if command.keys:
            assert command.does in HELP


def test_every_phrase_starts_with_coach_and_names_one_command() -> None:
    phrases = commands.phrases()
    assert all(p.startswith("coach ") for p in phrases)
    assert len({p.split()[1] for p in phrases}) == len(phrases)  # told apart by one word
