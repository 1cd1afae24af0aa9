"""Parser: routine text to a syntax tree plus positioned diagnostics; pure, no file I/O."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from coach import nodes
from coach.diagnostics import Diagnostic, Position
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
KEYWORDS = STATEMENT_KEYWORDS + REPEAT_KEYWORDS + nodes.SETTING_KEYS + nodes.HEADER_TEXT_KEYS
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")  # a `for` variable, as used in `{name}`
TAB_WIDTH = 4  # how far a (forbidden) tab indents, to recover the block structure

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
    "title": "title: Morning stretch",
    "about": "about: A gentle start to the day.",
    "equipment": "equipment: a yoga mat",
    "source": "source: my physiotherapist",
}
_KEYWORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BLOCK_KEYWORDS = ("step", "for", "between", "repeat")
_OUTSIDE_REPEAT = "'{word}' is only allowed inside a 'repeat N times:' block"


def parse(text: str, path: str) -> tuple[nodes.Routine, list[Diagnostic]]:
    """Parse a whole routine file; never raises, every problem becomes a Diagnostic."""
    parser = _Parser(path, split_lines(text))
    return parser.parse(), parser.diagnostics


def split_lines(text: str) -> list[str]:
    """Source lines without line endings (`\\n`, `\\r\\n` or `\\r`) and without a leading BOM."""
    return _LINE_BREAK.split(text.removeprefix("\ufeff"))


@dataclass(frozen=True)
class Span:
    """A piece of one source line and the 1-based column of its first character."""

    text: str
    column: int

    @property
    def end(self) -> int:
        """The column just after the last character."""
        return self.column + len(self.text)

    def strip(self) -> Span:
        lead = len(self.text) - len(self.text.lstrip())
        return Span(self.text.strip(), self.column + lead)

    def slice(self, start: int, stop: int | None = None) -> Span:
        start = min(start, len(self.text)) if start >= 0 else max(len(self.text) + start, 0)
        return Span(self.text[start:stop], self.column + start)

    def split(self, separator: str) -> list[Span]:
        parts, start = [], 0
        for index, char in enumerate(self.text):
            if char == separator:
                parts.append(self.slice(start, index))
                start = index + 1
        parts.append(self.slice(start))
        return parts

    def words(self, pattern: str = r"[^\s:]+") -> list[Span]:
        return [Span(m.group(), self.column + m.start()) for m in re.finditer(pattern, self.text)]


@dataclass
class _Line:
    """A non-blank, non-comment line with the lines of its indented block."""

    number: int
    indent: int
    content: Span
    children: list[_Line] = field(default_factory=list)


Handler = Callable[["_Line", str, Span], "nodes.Statement | None"]


class _Parser:
    def __init__(self, path: str, lines: list[str]) -> None:
        self.path = path
        self.lines = lines
        self.diagnostics: list[Diagnostic] = []
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
        top = self.nest(self.scan())
        header, rest = self.header(top)
        body = self.block(rest)
        return nodes.Routine(self.path, header, body, sources={self.path: self.lines})

    # Reporting -----------------------------------------------------------------------------

    def error(self, line: int, column: int, message: str, hint: str | None = None) -> None:
        source = self.lines[line - 1] if 1 <= line <= len(self.lines) else None
        position = Position(self.path, line, column)
        self.diagnostics.append(Diagnostic(position, message, "error", hint, source))

    def unit_error(self, line: _Line, span: Span, error: UnitError) -> None:
        self.error(line.number, span.column + error.offset, error.message, error.hint)

    def position(self, line: _Line, column: int | None = None) -> Position:
        return Position(self.path, line.number, line.content.column if column is None else column)

    def unknown(self, line: _Line, word: str) -> None:
        if word.lower() in KEYWORDS:
            hint = f"keywords are lower case: did you mean '{word.lower()}'?"
        else:
            close = difflib.get_close_matches(word.lower(), KEYWORDS, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else _statement_hint()
        self.error(line.number, line.content.column, f"unknown keyword '{word}'", hint)

    def unexpected_block(self, line: _Line, hint: str | None = None) -> None:
        child = line.children[0]
        hint = hint or "only 'step', 'for', 'between' and 'repeat ...:' lines open a block"
        self.error(child.number, child.content.column, "unexpected indented block", hint)

    def missing_block(self, line: _Line, opener: str) -> None:
        message = f"'{opener}' needs an indented block below it"
        hint = "indent the lines that belong to it, for example by 4 spaces"
        self.error(line.number, line.content.column, message, hint)

    # Lines and blocks ----------------------------------------------------------------------

    def scan(self) -> list[_Line]:
        """Non-blank, non-comment lines with their indentation; reports tabs in indentation."""
        lines = []
        for number, raw in enumerate(self.lines, start=1):
            stripped = raw.strip()
            if not stripped or stripped.startswith("#"):
                continue
            lead = len(raw) - len(raw.lstrip(" \t"))
            if "\t" in raw[:lead]:
                column = raw.index("\t") + 1
                hint = "indent with spaces only"
                self.error(number, column, "tab in indentation", hint)
            indent = len(raw[:lead].expandtabs(TAB_WIDTH))
            start = len(raw) - len(raw.lstrip())
            if start > lead:
                code = f"U+{ord(raw[lead]):04X}"
                message = f"unexpected whitespace character {code} in indentation"
                self.error(number, lead + 1, message, "indent with ordinary spaces")
                indent += start - lead
            lines.append(_Line(number, indent, Span(raw[start:].rstrip(), start + 1)))
        return lines

    def nest(self, lines: list[_Line]) -> list[_Line]:
        """Each line joins the block of the nearest line above it that is indented less."""
        root = _Line(0, -1, Span("", 1))
        stack = [root]
        for line in lines:
            while stack[-1].indent >= line.indent:
                stack.pop()
            parent = stack[-1]
            if parent is root and line.indent != 0:
                hint = "only the lines of a block are indented"
                self.error(line.number, line.content.column, "unexpected indentation", hint)
            elif parent.children and line.indent != parent.children[0].indent:
                self.inconsistent(line, parent.children[0])
            parent.children.append(line)
            stack.append(line)
        return root.children

    def inconsistent(self, line: _Line, first: _Line) -> None:
        message = f"inconsistent indentation: expected {first.indent} spaces"
        hint = f"indent it like line {first.number}, the first line of this block"
        self.error(line.number, line.content.column, message, hint)

    def keyword(self, line: _Line) -> tuple[str, Span] | None:
        match = _KEYWORD.match(line.content.text)
        if match is None:
            found = _excerpt(line.content.text)
            message = f"expected a statement, found '{found}'"
            self.error(line.number, line.content.column, message, _statement_hint())
            return None
        return match.group(), line.content.slice(match.end())

    def block(self, lines: list[_Line]) -> list[nodes.Statement]:
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

    def block_body(self, line: _Line, opener: str) -> list[nodes.Statement]:
        if not line.children:
            self.missing_block(line, opener)
            return []
        return self.block(line.children)

    def statement(self, line: _Line, word: str, rest: Span) -> nodes.Statement | None:
        handler = self.handlers.get(word)
        if handler is None:
            if word in REPEAT_KEYWORDS:
                message = _OUTSIDE_REPEAT.format(word=word)
                hint = "end the repeat line with ':' and indent this line below it"
                self.error(line.number, line.content.column, message, hint)
            elif word in nodes.HEADER_TEXT_KEYS:
                message = f"'{word}:' belongs in the header, before the first statement"
                self.error(line.number, line.content.column, message)
            else:
                self.unknown(line, word)
            return None
        if line.children and word not in _BLOCK_KEYWORDS:
            self.unexpected_block(line)
        return handler(line, word, rest)

    # Values ----------------------------------------------------------------------------------

    def colon_value(self, line: _Line, word: str, rest: Span, what: str) -> Span | None:
        """The text after `word:`; reports a missing colon or an empty value."""
        after = rest.strip()
        if not after.text.startswith(":"):
            found = f", found '{_excerpt(after.text)}'" if after.text else ""
            hint = f"write it like '{EXAMPLES[word]}'"
            self.error(line.number, after.column, f"expected ':' after '{word}'{found}", hint)
            return None
        value = after.slice(1).strip()
        if not value.text:
            hint = f"write it like '{EXAMPLES[word]}'"
            self.error(line.number, value.column, f"'{word}:' needs {what} after the colon", hint)
            return None
        return value

    def argument(self, line: _Line, word: str, rest: Span, what: str) -> Span | None:
        """The text after a keyword like `pause`; a colon after the keyword is tolerated."""
        value = rest.strip()
        if value.text.startswith(":"):
            value = value.slice(1).strip()
        if not value.text:
            hint = f"write it like '{EXAMPLES[word]}'"
            self.error(line.number, value.column, f"'{word}' needs {what}", hint)
            return None
        return value

    def duration(self, line: _Line, span: Span, what: str = "a duration") -> float | None:
        if not span.text:
            self.error(line.number, span.column, f"missing {what}", "write it like '5s' or '2 min'")
            return None
        try:
            return parse_duration(span.text)
        except UnitError as error:
            self.unit_error(line, span, error)
            return None

    def number(self, line: _Line, span: Span, what: str) -> int | None:
        if not span.text:
            self.error(line.number, span.column, f"missing {what}", "write a whole number, like 5")
            return None
        try:
            return parse_count(span.text)
        except UnitError as error:
            self.unit_error(line, span, error)
            return None

    def count_times(self, line: _Line, span: Span, word: str) -> tuple[int | None, Span | None]:
        """`N times` at the start of `span`: the count and the rest after `times`."""
        words = span.words()
        hint = f"write it like '{EXAMPLES[word]}'"
        if not words:
            self.error(line.number, span.strip().column, f"'{word}' needs a count", hint)
            return None, None
        count = self.number(line, words[0], "count")
        if len(words) < 2 or words[1].text.lower() not in ("times", "time"):
            column = words[1].column if len(words) > 1 else words[0].end
            found = f", found '{_excerpt(words[1].text)}'" if len(words) > 1 else ""
            self.error(line.number, column, f"expected 'times' after the count{found}", hint)
            return None, None
        return count, span.slice(words[1].end - span.column)

    # Header ----------------------------------------------------------------------------------

    def header(self, top: list[_Line]) -> tuple[nodes.Header, list[_Line]]:
        """`key: value` lines at the top of the file; returns the lines after the header."""
        header = nodes.Header()
        seen: dict[str, int] = {}
        for index, line in enumerate(top):
            match = _KEYWORD.match(line.content.text)
            word = match.group() if match else ""
            rest = line.content.slice(len(word))
            if word in nodes.HEADER_TEXT_KEYS or word in nodes.SETTING_KEYS:
                self.header_line(header, line, word, rest, seen)
            elif word and word not in KEYWORDS and rest.strip().text.startswith(":"):
                self.unknown(line, word)
            else:
                return header, top[index:]
        return header, []

    def header_line(
        self, header: nodes.Header, line: _Line, word: str, rest: Span, seen: dict[str, int]
    ) -> None:
        if line.children:
            self.unexpected_block(line, "write the value on one line")
        value = self.colon_value(line, word, rest, "a value")
        if value is None:
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

    # Statements ------------------------------------------------------------------------------

    def setting(self, line: _Line, word: str, rest: Span) -> nodes.Setting | None:
        value = self.colon_value(line, word, rest, "a value")
        return None if value is None else self.setting_value(line, word, value)

    def setting_value(self, line: _Line, key: str, value: Span) -> nodes.Setting | None:
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

    def say(self, line: _Line, word: str, rest: Span) -> nodes.Say | None:
        value = self.colon_value(line, word, rest, "text")
        if value is None:
            return None
        return nodes.Say(self.position(line), self.text(line, value))

    def text(self, line: _Line, span: Span) -> nodes.Text:
        return nodes.Text(span.text, self.position(line, span.column))

    def sound(self, line: _Line, word: str, rest: Span) -> nodes.Sound | None:
        value = self.colon_value(line, word, rest, "a sound name or file")
        if value is None:
            return None
        return nodes.Sound(self.position(line), value.text, columns={"name": value.column})

    def include(self, line: _Line, word: str, rest: Span) -> nodes.Include | None:
        value = self.colon_value(line, word, rest, "a file")
        if value is None:
            return None
        return nodes.Include(self.position(line), value.text, columns={"path": value.column})

    def pause(self, line: _Line, word: str, rest: Span) -> nodes.Pause | None:
        value = self.argument(line, word, rest, "a duration")
        seconds = None if value is None else self.duration(line, value)
        if value is None or seconds is None:
            return None
        return nodes.Pause(self.position(line), seconds, columns={"seconds": value.column})

    def hold(self, line: _Line, word: str, rest: Span) -> nodes.Hold | None:
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

    def hold_duration(self, line: _Line, span: Span) -> float | None:
        try:
            return parse_duration(span.text)
        except UnitError as error:
            if re.search(r"\b(countdown|halfway)\b", span.text, re.IGNORECASE):
                error.hint = "separate the options with commas: 'hold 30s, countdown 5, halfway'"
            self.unit_error(line, span, error)
            return None

    def hold_option(self, line: _Line, hold: nodes.Hold, option: Span) -> bool:
        match = re.match(r"[A-Za-z]+", option.text)
        word = match.group() if match else ""
        arg = option.slice(len(word)).strip()
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
            self.error(
                line.number, arg.column, f"unexpected '{_excerpt(arg.text)}' after 'halfway'"
            )
            return False
        if not option.text:
            self.error(line.number, option.column, "empty option after ','")
            return False
        close = difflib.get_close_matches(word.lower(), ("countdown", "halfway"), n=1, cutoff=0.6)
        hint = (
            f"did you mean '{close[0]}'?" if close else "a hold takes 'countdown N' and 'halfway'"
        )
        self.error(
            line.number, option.column, f"unknown hold option '{_excerpt(option.text)}'", hint
        )
        return False

    def breathe(self, line: _Line, word: str, rest: Span) -> nodes.Breathe | None:
        colon = rest.text.find(":")
        head = rest if colon == -1 else rest.slice(0, colon)
        count, tail = self.count_times(line, head, word)
        if tail is None:
            return None
        if colon == -1 or tail.strip().text:
            after = tail.strip()
            found = f", found '{_excerpt(after.text)}'" if after.text else ""
            hint = f"write it like '{EXAMPLES['breathe']}'"
            self.error(line.number, after.column, f"expected ':' after 'times'{found}", hint)
            return None
        pattern = _BreathPattern(self, line)
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

    def repeat(self, line: _Line, word: str, rest: Span) -> nodes.Repeat | None:
        head = rest.strip()
        opens_block = head.text.endswith(":")
        if opens_block:
            head = head.slice(0, -1)
        count, tail = self.count_times(line, head, word)
        repeat = nodes.Repeat(self.position(line), count or 0)
        ok = count is not None and tail is not None
        if head.words():
            repeat.columns["count"] = head.words()[0].column
        if tail is not None and tail.strip().text:
            ok = self.repeat_tempo(line, repeat, tail.strip()) and ok
        if opens_block and not line.children:
            self.missing_block(line, "repeat ...:")
        elif opens_block:
            self.repeat_block(repeat, line.children)
        elif line.children:
            self.unexpected_block(line, "end the repeat line with ':' to give it 'beat:' lines")
        return repeat if ok else None

    def repeat_tempo(self, line: _Line, repeat: nodes.Repeat, tail: Span) -> bool:
        """`at TEMPO` (or `every D`) after `repeat N times`."""
        match = re.match(r"(at|every)\b", tail.text)
        if match is None:
            hint = "write it like 'repeat 25 times at 15 per minute'"
            message = f"expected 'at TEMPO' after 'times', found '{_excerpt(tail.text)}'"
            self.error(line.number, tail.column, message, hint)
            return False
        tempo = tail.slice(match.end()).strip() if match.group() == "at" else tail
        try:
            repeat.period = parse_tempo(tempo.text)
        except UnitError as error:
            self.unit_error(line, tempo, error)
            return False
        repeat.columns["period"] = tempo.column
        return True

    def repeat_block(self, repeat: nodes.Repeat, lines: list[_Line]) -> None:
        """Only `beat:`, `count every K` and settings may go inside a repeat block."""
        for line in lines:
            head = self.keyword(line)
            if head is None:
                continue
            word, rest = head
            if word not in KEYWORDS:
                self.unknown(line, word)
                continue
            if word not in REPEAT_KEYWORDS + nodes.SETTING_KEYS:
                message = f"'{word}' cannot go inside a repeat block"
                hint = "a repeat block holds only 'beat: WORD', 'count every K' and settings"
                self.error(line.number, line.content.column, message, hint)
                continue
            if line.children:
                self.unexpected_block(line)
            if word == "beat":
                value = self.colon_value(line, word, rest, "a word")
                if value is not None:
                    repeat.beats.append(nodes.Beat(self.position(line), self.text(line, value)))
            elif word == "count":
                self.count_every(line, rest, repeat)
            else:
                self.repeat_setting(line, word, rest, repeat)

    def count_every(self, line: _Line, rest: Span, repeat: nodes.Repeat) -> None:
        after = rest.strip()
        if not re.match(r"every\b", after.text):
            found = f", found '{_excerpt(after.text)}'" if after.text else ""
            hint = f"write it like '{EXAMPLES['count']}'"
            self.error(line.number, after.column, f"expected 'every K' after 'count'{found}", hint)
            return
        arg = after.slice(len("every")).strip()
        every = self.number(line, arg, "number after 'count every'")
        if every is None:
            return
        if repeat.count_every is not None:
            message = f"'count every' is already given on line {repeat.count_every.position.line}"
            self.error(line.number, line.content.column, message)
            return
        columns = {"every": arg.column}
        repeat.count_every = nodes.CountEvery(self.position(line), every, columns=columns)

    def repeat_setting(self, line: _Line, word: str, rest: Span, repeat: nodes.Repeat) -> None:
        setting = self.setting(line, word, rest)
        if setting is None:
            return
        if word == "tempo" and "period" in repeat.columns:
            message = "this repeat already has a tempo ('at ...' on its line)"
            self.error(line.number, line.content.column, message, "give the tempo once")
            return
        repeat.settings.append(setting)
        if word == "tempo":
            repeat.period = float(setting.value)

    def step(self, line: _Line, word: str, rest: Span) -> nodes.Step:
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

    def for_(self, line: _Line, word: str, rest: Span) -> nodes.For | None:
        after = rest.strip()
        hint = f"write it like '{EXAMPLES['for']}'"
        match = re.match(r"[^\s:,]+", after.text)
        variable = after.slice(0, match.end()) if match else Span("", after.column)
        if not variable.text:
            self.error(line.number, after.column, "'for' needs a variable name", hint)
        elif not NAME.fullmatch(variable.text):
            message = f"'{_excerpt(variable.text)}' is not a valid variable name"
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

    def for_items(self, line: _Line, span: Span) -> list[Span]:
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

    def between(self, line: _Line, rest: Span, last_for: nodes.For | None, after_for: bool) -> None:
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


class _BreathPattern:
    """Reads `in D[, hold D], out D[, hold D][ hiss]`, the part of `breathe` after its colon."""

    PARTS = ("in", "hold", "out", "hiss")

    def __init__(self, parser: _Parser, line: _Line) -> None:
        self.parser = parser
        self.line = line
        self.phase = "start"  # then "in", "hold_in", "out", "hold_out", "hiss"
        self.misordered = False
        self.values: dict[str, float | bool] = {}
        self.columns: dict[str, int] = {}

    def error(self, column: int, message: str, hint: str | None = None) -> bool:
        hint = hint or f"write it like '{EXAMPLES['breathe']}'"
        self.parser.error(self.line.number, column, message, hint)
        return False

    def read(self, pattern: Span) -> bool:
        if not pattern.strip().text:
            return self.error(
                pattern.strip().column, "'breathe' needs 'in D, out D' after the colon"
            )
        ok = True
        for part in pattern.split(","):
            ok = self.part(part.strip()) and ok
            if self.misordered:
                break  # later parts would only repeat the same mistake
        if ok and self.phase in ("in", "hold_in"):
            return self.error(pattern.end, "'breathe' needs 'out D' after 'in D'")
        return ok

    def part(self, part: Span) -> bool:
        if not part.text:
            return self.error(part.column, "empty part between commas")
        match = re.match(r"[A-Za-z]+", part.text)
        word = match.group().lower() if match else ""
        arg = part.slice(len(word)).strip()
        key = self.key(word, part)
        if key is None:
            return False
        if key == "hiss":
            if arg.text:
                return self.error(arg.column, f"unexpected '{_excerpt(arg.text)}' after 'hiss'")
            self.values["hiss"] = True
            self.columns["hiss"] = part.column
            return True
        if key == "exhale":
            arg = self.strip_hiss(arg)
        seconds = self.parser.duration(self.line, arg, f"duration after '{word}'")
        if seconds is None:
            return False
        self.values[key] = seconds
        self.columns[key] = arg.column
        return True

    def key(self, word: str, part: Span) -> str | None:
        """The Breathe field this part sets, moving the phase on; None after an error."""
        moves = {
            ("in", "start"): ("inhale", "in"),
            ("hold", "in"): ("hold_in", "hold_in"),
            ("out", "in"): ("exhale", "out"),
            ("out", "hold_in"): ("exhale", "out"),
            ("hold", "out"): ("hold_out", "hold_out"),
            ("hiss", "out"): ("hiss", "hiss"),
            ("hiss", "hold_out"): ("hiss", "hiss"),
        }
        move = moves.get((word, self.phase))
        if word == "hiss" and "hiss" in self.values:
            move = None
        if move is not None:
            key, self.phase = move
            return key
        self.error(part.column, self.misplaced(word, part))
        self.misordered = True
        return None

    def misplaced(self, word: str, part: Span) -> str:
        if word == "hiss" and "hiss" in self.values:
            return "'hiss' is given twice"
        if word == "in":
            return "'in' is given twice"
        if word == "out" and self.phase in ("out", "hold_out", "hiss"):
            return "'out' is given twice"
        if word == "out":
            return "'in D' must come before 'out D'"
        if word == "hold":
            return "'hold D' goes right after 'in D' or after 'out D'"
        if word == "hiss":
            return "'hiss' goes after 'out D', as in 'out 6s hiss'"
        close = difflib.get_close_matches(word, self.PARTS, n=1, cutoff=0.6)
        suggestion = f" (did you mean '{close[0]}'?)" if close and word else ""
        return f"expected 'in', 'hold', 'out' or 'hiss', found '{_excerpt(part.text)}'{suggestion}"

    def strip_hiss(self, arg: Span) -> Span:
        """`6s hiss` -> `6s`, noting the hiss."""
        match = re.search(r"(?:^|\s)hiss$", arg.text, re.IGNORECASE)
        if match is None:
            return arg
        self.values["hiss"] = True
        self.columns["hiss"] = arg.column + match.end() - len("hiss")
        return arg.slice(0, match.start()).strip()


def _statement_hint() -> str:
    return "a statement starts with a keyword such as 'say:', 'pause', 'hold' or 'repeat'"


def _excerpt(text: str, limit: int = 24) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."
