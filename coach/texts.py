"""Texts: `{name}` placeholders in routine text, their substitution and measures; pure."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from coach.reader import NAME

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_-]*)\}")


def substitute(raw: str, names: Mapping[str, str]) -> str:
    """Replace `{name}` with its value; `{{` and `}}` are literal braces (checked earlier)."""

    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        return names.get(match.group(1), token)

    return _PLACEHOLDER.sub(one, raw)


def filled_length(raw: str, lengths: Mapping[str, int]) -> int:
    """The length of `raw` once each `{name}` is replaced by a value `lengths[name]` long.

    Measured without building the text: a hostile file could make it gigabytes long.
    """
    length = len(raw)
    for match in _PLACEHOLDER.finditer(raw):
        name = match.group(1)
        if name is None:
            length -= 1  # `{{` is one brace
        elif name in lengths:
            length += lengths[name] - len(match.group(0))
    return length


# ASCII symbols the engine reads out as words ("percent", "plus", ...); other ASCII
# punctuation is silent.
_SPOKEN_ASCII = frozenset("#$%&*+/<=>@\\^_|~")
# A symbol read out is a word or more ("not equal to", a flag's country name): counted as
# this many letters, still low, so symbols cannot make speech look free.
SYMBOL_LETTERS = 3


def letters(text: str) -> int:
    """What a speech estimate counts in `text`: its letters and digits, and
    `SYMBOL_LETTERS` for each symbol the engine reads out (any non-ASCII one, and a few
    ASCII ones like % and +)."""
    count = 0
    for char in text:
        if char.isalnum():
            count += 1
        elif char in _SPOKEN_ASCII or (ord(char) > 127 and not char.isspace()):
            count += SYMBOL_LETTERS
    return count


def fewest_letters(raw: str, fewest: Mapping[str, int]) -> int:
    """Letters and digits of `raw` once each `{name}` is filled with `fewest[name]` of them
    (an unknown name counts none): a lower bound over every way of filling it in."""
    if "{" not in raw:
        return letters(raw)
    count = 0
    last = 0
    for match in _PLACEHOLDER.finditer(raw):
        count += letters(raw[last : match.start()])
        last = match.end()
        name = match.group(1)
        if name is not None:
            count += fewest.get(name, 0)
    return count + letters(raw[last:])


@dataclass(frozen=True)
class Placeholder:
    """A `{name}` in a text, or a problem with braces; `offset` is the index of the brace."""

    offset: int
    name: str | None
    problem: str | None = None
    hint: str | None = None


def placeholders(raw: str) -> Iterator[Placeholder]:
    """The `{name}` placeholders and brace problems of a text; `{{` and `}}` are literal.

    Linear in the length of the text, however many braces it has.
    """
    if "{" not in raw and "}" not in raw:
        return  # most texts: no need to look at each character
    index = 0
    close = -2  # the next `}` after `index` (-1: there is none), found once and reused
    while index < len(raw):
        char = raw[index]
        if raw.startswith(("{{", "}}"), index):
            index += 2
        elif char == "{":
            if close != -1 and close <= index:
                close = raw.find("}", index + 1)
            opened = -1 if close == -1 else raw.find("{", index + 1, close)
            if close == -1 or opened != -1:
                yield Placeholder(index, None, "unmatched '{'", "write '{{' for a literal brace")
                index += 1
                continue
            name = raw[index + 1 : close]
            if NAME.fullmatch(name):
                yield Placeholder(index, name)
            else:
                hint = "a placeholder is a for variable in braces, like {zone}; '{{' is a brace"
                shown = name if len(name) <= 24 else name[:21] + "..."
                yield Placeholder(index, None, f"'{{{shown}}}' is not a valid placeholder", hint)
            index = close + 1
        elif char == "}":
            yield Placeholder(index, None, "unmatched '}'", "write '}}' for a literal brace")
            index += 1
        else:
            index += 1
