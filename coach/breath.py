"""Breath patterns: the part of a `breathe` line after its colon, read into its values; pure."""

from __future__ import annotations

import difflib
import re

from coach.lines import Line, Span
from coach.reader import EXAMPLES, Reader, excerpt


class BreathPattern:
    """Reads `in D[, hold D], out D[, hold D][ hiss]`, the part of `breathe` after its colon."""

    PARTS = ("in", "hold", "out", "hiss")

    def __init__(self, parser: Reader, line: Line) -> None:
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
                return self.error(arg.column, f"unexpected '{excerpt(arg.text)}' after 'hiss'")
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
        close = difflib.get_close_matches(word[:40], self.PARTS, n=1, cutoff=0.6)
        suggestion = f" (did you mean '{close[0]}'?)" if close and word else ""
        return f"expected 'in', 'hold', 'out' or 'hiss', found '{excerpt(part.text)}'{suggestion}"

    def strip_hiss(self, arg: Span) -> Span:
        """`6s hiss` -> `6s`, noting the hiss."""
        match = re.search(r"(?:^|\s)hiss$", arg.text, re.IGNORECASE)
        if match is None:
            return arg
        self.values["hiss"] = True
        self.columns["hiss"] = arg.column + match.end() - len("hiss")
        return arg.slice(0, match.start()).strip()
