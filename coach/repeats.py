"""Repeats: a `repeat N times` line and its block of beats, counts and settings; pure."""

from __future__ import annotations

import difflib
import re

from coach import nodes
from coach.lines import Line, Span
from coach.reader import EXAMPLES, KEYWORDS, REPEAT_KEYWORDS, Reader, excerpt
from coach.units import UnitError, parse_tempo

_CHECK_IN_EXAMPLE = "repeat 25 times, check in every 60s"
_TEMPO_EXAMPLE = "repeat 25 times at 15 per minute, check in every 60s"


class RepeatReader(Reader):
    """The parser's part that reads `repeat` lines and their blocks."""

    def repeat(self, line: Line, word: str, rest: Span) -> nodes.Repeat | None:
        head = rest.strip()
        opens_block = head.text.endswith(":")
        if opens_block:
            head = head.slice(0, -1)
        head, *options = head.split(",")
        count, tail = self.count_times(line, head, word)
        repeat = nodes.Repeat(self.position(line), count or 0)
        ok = count is not None and tail is not None
        if head.words():
            repeat.columns["count"] = head.words()[0].column
        if tail is not None and tail.strip().text:
            ok = self.repeat_tempo(line, repeat, tail.strip()) and ok
        for option in options:
            ok = self.repeat_option(line, repeat, option.strip()) and ok
        if opens_block and not line.children:
            self.missing_block(line, "repeat ...:")
        elif opens_block:
            self.repeat_block(repeat, line.children)
        elif line.children:
            self.unexpected_block(line, "end the repeat line with ':' to give it 'beat:' lines")
        return repeat if ok else None

    def repeat_tempo(self, line: Line, repeat: nodes.Repeat, tail: Span) -> bool:
        """`at TEMPO` (or `every D`) after `repeat N times`."""
        match = re.match(r"(at|every)\b", tail.text)
        if match is None:
            hint = "write it like 'repeat 25 times at 15 per minute'"
            if re.match(r"check\b", tail.text):
                hint = f"separate the option with a comma: '{_CHECK_IN_EXAMPLE}'"
            message = f"expected 'at TEMPO' after 'times', found '{excerpt(tail.text)}'"
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

    def repeat_option(self, line: Line, repeat: nodes.Repeat, option: Span) -> bool:
        """An option after a comma on the repeat line: only `check in every D`."""
        match = re.match(r"[A-Za-z]+", option.text)
        word = match.group() if match else ""
        if word == "check":
            return self.check_in(line, option, repeat)
        if not option.text:
            self.error(line.number, option.column, "empty option after ','")
            return False
        if word in ("at", "every"):
            hint = f"write the tempo before the options: '{_TEMPO_EXAMPLE}'"
        elif difflib.get_close_matches(word.lower()[:40], ["check"], n=1, cutoff=0.6):
            hint = "did you mean 'check in every'?"
        else:
            hint = f"a repeat takes the option 'check in every D', like '{_CHECK_IN_EXAMPLE}'"
        message = f"unknown repeat option '{excerpt(option.text)}'"
        self.error(line.number, option.column, message, hint)
        return False

    def repeat_block(self, repeat: nodes.Repeat, lines: list[Line]) -> None:
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

    def count_every(self, line: Line, rest: Span, repeat: nodes.Repeat) -> None:
        after = rest.strip()
        if not re.match(r"every\b", after.text):
            found = f", found '{excerpt(after.text)}'" if after.text else ""
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

    def repeat_setting(self, line: Line, word: str, rest: Span, repeat: nodes.Repeat) -> None:
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
