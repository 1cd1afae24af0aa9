"""Parser: routine text to a syntax tree plus positioned diagnostics; pure, no file I/O."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

from coach import nodes
from coach.breath import BreathPattern
from coach.diagnostics import Diagnostic
from coach.lines import Line, Span, nest, scan, split_lines
from coach.reader import (
    EXAMPLES,
    HEADER_KEYS,
    KEYWORD,
    KEYWORDS,
    NAME,
    REPEAT_KEYWORDS,
    STATEMENT_KEYWORDS,
    excerpt,
)
from coach.repeats import RepeatReader
from coach.units import UnitError, parse_duration

__all__ = [
    "EXAMPLES",
    "KEYWORDS",
    "NAME",
    "REPEAT_KEYWORDS",
    "STATEMENT_KEYWORDS",
    "parse",
    "split_lines",
]

_BLOCK_KEYWORDS = ("step", "for", "between", "repeat")
_HOLD_OPTIONS = {"countdown": "countdown", "halfway": "halfway", "check": "check in every"}
_OUTSIDE_REPEAT = "'{word}' is only allowed inside a 'repeat N times:' block"


def parse(text: str, path: str) -> tuple[nodes.Routine, list[Diagnostic]]:
    """Parse a whole routine file; never raises, every problem becomes a Diagnostic."""
    parser = _Parser(path, split_lines(text))
    return parser.parse(), parser.diagnostics


Handler = Callable[[Line, str, Span], "nodes.Statement | None"]


class _Parser(RepeatReader):
    def __init__(self, path: str, lines: list[str]) -> None:
        super().__init__(path, lines)
        self.handlers: dict[str, Handler] = {
            "say": self.say,
            "pause": self.pause,
            "hold": self.hold,
            "breathe": self.breathe,
            "repeat": self.repeat,
            "step": self.step,
            "for": self.for_,
            "sound": self.sound,
            "include": self.include,
            **dict.fromkeys(nodes.SETTING_KEYS, self.setting),
        }

    def parse(self) -> nodes.Routine:
        top = nest(scan(self.lines, self.error), self.error)
        header, rest = self.header(top)
        body = self.block(rest)
        return nodes.Routine(self.path, header, body, sources={self.path: self.lines})

    # Blocks ----------------------------------------------------------------------------------

    def block(self, lines: list[Line]) -> list[nodes.Statement]:
        body: list[nodes.Statement] = []
        last_for: nodes.For | None = None
        after_for = False  # the previous line was a `for` line, even one with errors
        for line in lines:
            head = self.keyword(line)
            if head is None:
                last_for, after_for = None, False
                continue
            word, rest = head
            if word == "between":
                self.between(line, rest, last_for, after_for)
                last_for, after_for = None, False
                continue
            statement = self.statement(line, word, rest)
            last_for = statement if isinstance(statement, nodes.For) else None
            after_for = word == "for"
            if statement is not None:
                body.append(statement)
        return body

    def block_body(self, line: Line, opener: str) -> list[nodes.Statement]:
        if not line.children:
            self.missing_block(line, opener)
            return []
        return self.block(line.children)

    def statement(self, line: Line, word: str, rest: Span) -> nodes.Statement | None:
        handler = self.handlers.get(word)
        if handler is None:
            if word in REPEAT_KEYWORDS:
                message = _OUTSIDE_REPEAT.format(word=word)
                hint = "end the repeat line with ':' and indent this line below it"
                self.error(line.number, line.content.column, message, hint)
            elif word in HEADER_KEYS:
                message = f"'{word}:' belongs in the header, before the first statement"
                self.error(line.number, line.content.column, message)
            else:
                self.unknown(line, word)
            return None
        if line.children and word not in _BLOCK_KEYWORDS:
            self.unexpected_block(line)
        return handler(line, word, rest)

    # Header ----------------------------------------------------------------------------------

    def header(self, top: list[Line]) -> tuple[nodes.Header, list[Line]]:
        """`key: value` lines at the top of the file; returns the lines after the header."""
        header = nodes.Header()
        seen: dict[str, int] = {}
        for index, line in enumerate(top):
            match = KEYWORD.match(line.content.text)
            word = match.group() if match else ""
            rest = line.content.slice(len(word))
            if word in HEADER_KEYS or word in nodes.SETTING_KEYS:
                self.header_line(header, line, word, rest, seen)
            elif word and word not in KEYWORDS and rest.strip().text.startswith(":"):
                self.unknown(line, word)
            else:
                return header, top[index:]
        return header, []

    def header_line(
        self, header: nodes.Header, line: Line, word: str, rest: Span, seen: dict[str, int]
    ) -> None:
        if line.children:
            self.unexpected_block(line, "write the value on one line")
        value = self.colon_value(line, word, rest, "a value")
        if value is None:
            return
        if word == nodes.CHECK_IN_KEY:  # may repeat: the lines are spoken in turn
            header.check_ins.append(self.text(line, value))
            return
        if word in seen:
            message = f"'{word}:' is already given on line {seen[word]}"
            self.error(line.number, line.content.column, message, "give each header key once")
            return
        seen[word] = line.number
        if word in nodes.SETTING_KEYS:
            setting = self.setting_value(line, word, value)
            if setting is not None:
                header.settings.append(setting)
        else:
            setattr(header, word, value.text)
            header.places[word] = self.position(line, value.column)

    # Statements ------------------------------------------------------------------------------

    def say(self, line: Line, word: str, rest: Span) -> nodes.Say | None:
        value = self.colon_value(line, word, rest, "text")
        if value is None:
            return None
        return nodes.Say(self.position(line), self.text(line, value))

    def sound(self, line: Line, word: str, rest: Span) -> nodes.Sound | None:
        value = self.colon_value(line, word, rest, "a sound name or file")
        if value is None:
            return None
        return nodes.Sound(self.position(line), value.text, columns={"name": value.column})

    def include(self, line: Line, word: str, rest: Span) -> nodes.Include | None:
        value = self.colon_value(line, word, rest, "a file")
        if value is None:
            return None
        return nodes.Include(self.position(line), value.text, columns={"path": value.column})

    def pause(self, line: Line, word: str, rest: Span) -> nodes.Pause | None:
        value = self.argument(line, word, rest, "a duration")
        seconds = None if value is None else self.duration(line, value)
        if value is None or seconds is None:
            return None
        return nodes.Pause(self.position(line), seconds, columns={"seconds": value.column})

    def hold(self, line: Line, word: str, rest: Span) -> nodes.Hold | None:
        value = self.argument(line, word, rest, "a duration")
        if value is None:
            return None
        first, *options = value.split(",")
        first = first.strip()
        seconds = self.hold_duration(line, first)
        hold = nodes.Hold(self.position(line), seconds or 0.0, columns={"seconds": first.column})
        ok = seconds is not None
        for option in options:
            ok = self.hold_option(line, hold, option.strip()) and ok
        return hold if ok else None

    def hold_duration(self, line: Line, span: Span) -> float | None:
        try:
            return parse_duration(span.text)
        except UnitError as error:
            if re.search(r"\b(countdown|halfway|check)\b", span.text, re.IGNORECASE):
                error.hint = "separate the options with commas: 'hold 30s, countdown 5, halfway'"
            self.unit_error(line, span, error)
            return None

    def hold_option(self, line: Line, hold: nodes.Hold, option: Span) -> bool:
        match = re.match(r"[A-Za-z]+", option.text)
        word = match.group() if match else ""
        arg = option.slice(len(word)).strip()
        if word == "check":
            return self.check_in(line, option, hold)
        if word in ("countdown", "halfway") and word in hold.columns:
            self.error(line.number, option.column, f"'{word}' is given twice")
            return False
        if word == "countdown":
            count = self.number(line, arg, "number after 'countdown'")
            hold.countdown = count
            hold.columns["countdown"] = arg.column
            return count is not None
        if word == "halfway" and not arg.text:
            hold.halfway = True
            hold.columns["halfway"] = option.column
            return True
        if word == "halfway":
            self.error(line.number, arg.column, f"unexpected '{excerpt(arg.text)}' after 'halfway'")
            return False
        if not option.text:
            self.error(line.number, option.column, "empty option after ','")
            return False
        close = difflib.get_close_matches(word.lower()[:40], _HOLD_OPTIONS, n=1, cutoff=0.6)
        hint = (
            f"did you mean '{_HOLD_OPTIONS[close[0]]}'?"
            if close
            else "a hold takes 'countdown N', 'halfway' and 'check in every D'"
        )
        self.error(
            line.number, option.column, f"unknown hold option '{excerpt(option.text)}'", hint
        )
        return False

    def breathe(self, line: Line, word: str, rest: Span) -> nodes.Breathe | None:
        colon = rest.text.find(":")
        head = rest if colon == -1 else rest.slice(0, colon)
        count, tail = self.count_times(line, head, word)
        if tail is None:
            return None
        if colon == -1 or tail.strip().text:
            after = tail.strip()
            found = f", found '{excerpt(after.text)}'" if after.text else ""
            hint = f"write it like '{EXAMPLES['breathe']}'"
            self.error(line.number, after.column, f"expected ':' after 'times'{found}", hint)
            return None
        pattern = BreathPattern(self, line)
        if not pattern.read(rest.slice(colon + 1)) or count is None:
            return None
        columns = {"count": rest.words()[0].column, **pattern.columns}
        values = pattern.values
        return nodes.Breathe(
            self.position(line),
            count,
            inhale=float(values["inhale"]),
            exhale=float(values["exhale"]),
            hold_in=float(values.get("hold_in", 0.0)),
            hold_out=float(values.get("hold_out", 0.0)),
            hiss=bool(values.get("hiss", False)),
            columns=columns,
        )

    def step(self, line: Line, word: str, rest: Span) -> nodes.Step:
        name = rest.strip()
        hint = f"write it like '{EXAMPLES['step']}', with the colon at the end"
        closed = name.text.endswith(":")
        if closed:
            name = name.slice(0, -1).strip()
        if name.text.startswith(":"):
            message = "expected the step's name after 'step', found ':'"
            self.error(line.number, name.column, message, hint)
            name = name.slice(1).strip()
        elif not closed:
            self.error(line.number, name.end, "expected ':' at the end of the step line", hint)
        elif not name.text:
            self.error(line.number, name.column, "'step' needs a name", hint)
        body = self.block_body(line, "step NAME:")
        return nodes.Step(self.position(line), self.text(line, name), body)

    def for_(self, line: Line, word: str, rest: Span) -> nodes.For | None:
        after = rest.strip()
        hint = f"write it like '{EXAMPLES['for']}'"
        match = re.match(r"[^\s:,]+", after.text)
        variable = after.slice(0, match.end()) if match else Span("", after.column)
        if not variable.text:
            self.error(line.number, after.column, "'for' needs a variable name", hint)
        elif not NAME.fullmatch(variable.text):
            message = f"'{excerpt(variable.text)}' is not a valid variable name"
            name_hint = "a name starts with a letter or '_', like 'zone'"
            self.error(line.number, variable.column, message, name_hint)
        items_in = re.match(r"\s+in\b\s*:?", after.text[len(variable.text) :]) if match else None
        if match and items_in is None:
            column = after.slice(len(variable.text)).strip().column
            self.error(line.number, column, "expected 'in:' after the variable name", hint)
        items: list[Span] = []
        if items_in is not None:
            items = self.for_items(line, after.slice(len(variable.text) + items_in.end()))
        body = self.block_body(line, "for NAME in: ...:")
        if items_in is None or not NAME.fullmatch(variable.text):
            return None
        columns = {"variable": variable.column}
        columns.update({f"items[{index}]": item.column for index, item in enumerate(items)})
        if items:
            columns["items"] = items[0].column
        return nodes.For(
            self.position(line),
            variable.text,
            [item.text for item in items],
            body,
            columns=columns,
        )

    def for_items(self, line: Line, span: Span) -> list[Span]:
        listed = span.strip()
        hint = f"write it like '{EXAMPLES['for']}'"
        if listed.text.endswith(":"):
            listed = listed.slice(0, -1)
        elif listed.text:
            self.error(line.number, listed.end, "expected ':' at the end of the for line", hint)
        if not listed.text.strip():
            self.error(line.number, listed.strip().column, "'for' needs a list of items", hint)
            return []
        items = [item.strip() for item in listed.split(",")]
        for item in items:
            if not item.text:
                self.error(line.number, item.column, "empty item in the for list", hint)
        return [item for item in items if item.text]

    def between(self, line: Line, rest: Span, last_for: nodes.For | None, after_for: bool) -> None:
        after = rest.strip()
        if not after.text.startswith(":"):
            self.error(line.number, after.column, "expected ':' after 'between'")
        elif after.slice(1).strip().text:
            message = "'between:' takes no text after the colon"
            hint = "put its statements on the lines below, indented"
            self.error(line.number, after.slice(1).strip().column, message, hint)
        if not after_for:
            message = "'between:' must come directly after a 'for' block"
            hint = "it runs between the iterations of the for block just above it"
            self.error(line.number, line.content.column, message, hint)
        body = self.block_body(line, "between:")
        if last_for is not None:
            last_for.between = body
