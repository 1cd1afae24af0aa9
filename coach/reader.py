"""Reader: the parser's keywords, its error reporting and its readers of one value; pure."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

from coach import nodes
from coach.diagnostics import Diagnostic, Position
from coach.lines import Line, Span
from coach.units import UnitError, parse_count, parse_duration, parse_rate, parse_tempo

STATEMENT_KEYWORDS = (
    "say",
    "pause",
    "hold",
    "breathe",
    "repeat",
    "step",
    "for",
    "between",
    "sound",
    "include",
)
REPEAT_KEYWORDS = ("beat", "count")
HEADER_KEYS = (*nodes.HEADER_TEXT_KEYS, nodes.CHECK_IN_KEY)
KEYWORDS = STATEMENT_KEYWORDS + REPEAT_KEYWORDS + nodes.SETTING_KEYS + HEADER_KEYS
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")  # a `for` variable, as used in `{name}`
KEYWORD = re.compile(r"check-in\b|[A-Za-z_][A-Za-z0-9_]*")  # `check-in` has a hyphen
CHECK_IN_EXAMPLE = "hold 2 min, check in every 30s"

EXAMPLES = {
    "say": "say: Breathe in slowly.",
    "pause": "pause 5s",
    "hold": "hold 30s, countdown 5",
    "breathe": "breathe 4 times: in 4s, out 6s",
    "repeat": "repeat 25 times",
    "beat": "beat: up",
    "count": "count every 5",
    "step": "step Warm up:",
    "for": "for side in: left, right:",
    "between": "between:",
    "sound": "sound: chime",
    "include": "include: warmup.routine",
    "tempo": "tempo: 15 per minute",
    "rate": "rate: 140 wpm",
    "voice": "voice: gmw/en-us",
    "gap": "gap: 0.5s",
    "side": "side: left",
    "language": "language: de",
    "title": "title: Morning stretch",
    "about": "about: A gentle start to the day.",
    "equipment": "equipment: a yoga mat",
    "source": "source: my physiotherapist",
    "check-in": "check-in: If anything hurts, ease off.",
}


class Reader:
    """Positioned errors for one file, and the readers of values the statements share."""

    def __init__(self, path: str, lines: list[str]) -> None:
        self.path = path
        self.lines = lines
        self.diagnostics: list[Diagnostic] = []

    # Reporting -----------------------------------------------------------------------------

    def error(self, line: int, column: int, message: str, hint: str | None = None) -> None:
        source = self.lines[line - 1] if 1 <= line <= len(self.lines) else None
        position = Position(self.path, line, column)
        self.diagnostics.append(Diagnostic(position, message, "error", hint, source))

    def unit_error(self, line: Line, span: Span, error: UnitError) -> None:
        self.error(line.number, span.column + error.offset, error.message, error.hint)

    def position(self, line: Line, column: int | None = None) -> Position:
        return Position(self.path, line.number, line.content.column if column is None else column)

    def unknown(self, line: Line, word: str) -> None:
        if word == "check":  # `check in every D` written as a line of its own
            message = "'check in every' goes after a comma on a 'hold' or 'repeat' line"
            hint = f"write it like '{CHECK_IN_EXAMPLE}' or 'repeat 25 times, check in every 60s'"
            self.error(line.number, line.content.column, message, hint)
            return
        if word.lower() in KEYWORDS:
            hint = f"keywords are lower case: did you mean '{word.lower()}'?"
        else:
            close = difflib.get_close_matches(word.lower()[:40], KEYWORDS, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else statement_hint()
        message = f"unknown keyword '{excerpt(word)}'"
        self.error(line.number, line.content.column, message, hint)

    def unexpected_block(self, line: Line, hint: str | None = None) -> None:
        child = line.children[0]
        hint = hint or "only 'step', 'for', 'between' and 'repeat ...:' lines open a block"
        self.error(child.number, child.content.column, "unexpected indented block", hint)

    def missing_block(self, line: Line, opener: str) -> None:
        if line.truncated:
            return  # its block was there, too deep, and is already reported
        message = f"'{opener}' needs an indented block below it"
        hint = "indent the lines that belong to it, for example by 4 spaces"
        self.error(line.number, line.content.column, message, hint)

    def keyword(self, line: Line) -> tuple[str, Span] | None:
        match = KEYWORD.match(line.content.text)
        if match is None:
            found = excerpt(line.content.text)
            message = f"expected a statement, found '{found}'"
            self.error(line.number, line.content.column, message, statement_hint())
            return None
        return match.group(), line.content.slice(match.end())

    # Values ----------------------------------------------------------------------------------

    def text(self, line: Line, span: Span) -> nodes.Text:
        return nodes.Text(span.text, self.position(line, span.column))

    def setting(self, line: Line, word: str, rest: Span) -> nodes.Setting | None:
        value = self.colon_value(line, word, rest, "a value")
        return None if value is None else self.setting_value(line, word, value)

    def setting_value(self, line: Line, key: str, value: Span) -> nodes.Setting | None:
        readers: dict[str, Callable[[str], float | int]] = {
            "tempo": parse_tempo,
            "rate": parse_rate,
            "gap": parse_duration,
        }
        parsed: float | int | str = value.text
        if key in readers:
            try:
                parsed = readers[key](value.text)
            except UnitError as error:
                self.unit_error(line, value, error)
                return None
        columns = {"value": value.column}
        return nodes.Setting(self.position(line), key, parsed, columns=columns)

    def colon_value(self, line: Line, word: str, rest: Span, what: str) -> Span | None:
        """The text after `word:`; reports a missing colon or an empty value."""
        after = rest.strip()
        if not after.text.startswith(":"):
            found = f", found '{excerpt(after.text)}'" if after.text else ""
            hint = f"write it like '{EXAMPLES[word]}'"
            self.error(line.number, after.column, f"expected ':' after '{word}'{found}", hint)
            return None
        value = after.slice(1).strip()
        if not value.text:
            hint = f"write it like '{EXAMPLES[word]}'"
            self.error(line.number, value.column, f"'{word}:' needs {what} after the colon", hint)
            return None
        return value

    def argument(self, line: Line, word: str, rest: Span, what: str) -> Span | None:
        """The text after a keyword like `pause`; a colon after the keyword is tolerated."""
        value = rest.strip()
        if value.text.startswith(":"):
            value = value.slice(1).strip()
        if not value.text:
            hint = f"write it like '{EXAMPLES[word]}'"
            self.error(line.number, value.column, f"'{word}' needs {what}", hint)
            return None
        return value

    def duration(self, line: Line, span: Span, what: str = "a duration") -> float | None:
        if not span.text:
            self.error(line.number, span.column, f"missing {what}", "write it like '5s' or '2 min'")
            return None
        try:
            return parse_duration(span.text)
        except UnitError as error:
            self.unit_error(line, span, error)
            return None

    def number(self, line: Line, span: Span, what: str) -> int | None:
        if not span.text:
            self.error(line.number, span.column, f"missing {what}", "write a whole number, like 5")
            return None
        try:
            return parse_count(span.text)
        except UnitError as error:
            self.unit_error(line, span, error)
            return None

    def check_in(self, line: Line, option: Span, node: nodes.Hold | nodes.Repeat) -> bool:
        """The option `check in every D` (`option` starts with 'check'): sets `node.check_in`."""
        hint = f"write it like '{CHECK_IN_EXAMPLE}'"
        after = option.slice(len("check")).strip()
        said = "check"
        for word in ("in", "every"):
            if not re.match(rf"{word}\b", after.text):
                wanted = "'in every'" if word == "in" else "'every'"
                found = f", found '{excerpt(after.text)}'" if after.text else ""
                message = f"expected {wanted} after '{said}'{found}"
                self.error(line.number, after.column, message, hint)
                return False
            after = after.slice(len(word)).strip()
            said += " " + word
        if "check_in" in node.columns:
            self.error(line.number, option.column, "'check in every' is given twice")
            return False
        seconds = self.duration(line, after, "a duration after 'check in every'")
        node.check_in = seconds
        node.columns["check_in"] = after.column
        return seconds is not None

    def count_times(self, line: Line, span: Span, word: str) -> tuple[int | None, Span | None]:
        """`N times` at the start of `span`: the count and the rest after `times`."""
        words = span.words()
        hint = f"write it like '{EXAMPLES[word]}'"
        if not words:
            self.error(line.number, span.strip().column, f"'{word}' needs a count", hint)
            return None, None
        count = self.number(line, words[0], "count")
        if len(words) < 2 or words[1].text.lower() not in ("times", "time"):
            column = words[1].column if len(words) > 1 else words[0].end
            found = f", found '{excerpt(words[1].text)}'" if len(words) > 1 else ""
            self.error(line.number, column, f"expected 'times' after the count{found}", hint)
            return None, None
        return count, span.slice(words[1].end - span.column)


def statement_hint() -> str:
    return "a statement starts with a keyword such as 'say:', 'pause', 'hold' or 'repeat'"


def excerpt(text: str, limit: int = 24) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."
