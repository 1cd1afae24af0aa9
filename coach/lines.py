"""Lines: routine text split into lines, spans and the tree of indented blocks; pure."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from coach.bounds import MAX_BLOCK_DEPTH

TAB_WIDTH = 4  # how far a (forbidden) tab indents, to recover the block structure
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

# (line, column, message, hint): how the scanner reports a problem to its parser.
Report = Callable[[int, int, str, "str | None"], None]


def split_lines(text: str) -> list[str]:
    """Source lines without line endings (`\\n`, `\\r\\n` or `\\r`) and without a leading BOM."""
    return _LINE_BREAK.split(text.removeprefix("\ufeff"))


def too_deep_message() -> str:
    return f"blocks are nested more than {MAX_BLOCK_DEPTH} deep"


@dataclass(slots=True)  # not frozen: a 1 MB file makes 100,000s, and frozen ones cost 3x
class Span:
    """A piece of one source line and the 1-based column of its first character (never
    changed once made)."""

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
class Line:
    """A non-blank, non-comment line with the lines of its indented block.

    `truncated` marks the opener of a block nested deeper than the bound: its lines were
    reported once and dropped, so nothing after the parser walks deeper than the bound.
    """

    number: int
    indent: int
    content: Span
    children: list[Line] = field(default_factory=list)
    truncated: bool = False


def scan(lines: list[str], report: Report) -> list[Line]:
    """Non-blank, non-comment lines with their indentation; reports tabs in indentation."""
    found = []
    for number, raw in enumerate(lines, start=1):
        body = raw.lstrip()
        if not body or body[0] == "#":
            continue
        if body is raw:  # not indented: most lines of most files
            found.append(Line(number, 0, Span(raw.rstrip(), 1)))
            continue
        lead = len(raw) - len(raw.lstrip(" \t"))
        if "\t" in raw[:lead]:
            report(number, raw.index("\t") + 1, "tab in indentation", "indent with spaces only")
        indent = len(raw[:lead].expandtabs(TAB_WIDTH))
        start = len(raw) - len(raw.lstrip())
        if start > lead:
            code = f"U+{ord(raw[lead]):04X}"
            message = f"unexpected whitespace character {code} in indentation"
            report(number, lead + 1, message, "indent with ordinary spaces")
            indent += start - lead
        found.append(Line(number, indent, Span(raw[start:].rstrip(), start + 1)))
    return found


def nest(lines: list[Line], report: Report) -> list[Line]:
    """Each line joins the block of the nearest line above it that is indented less.

    Iterative, so no depth of indentation can exhaust the stack. A line indented unlike the
    other lines of its block is reported and then taken as one of them, so the lines after
    it still nest as written (and their own errors are still found). Blocks more than
    MAX_BLOCK_DEPTH deep are reported once at their opener and their lines dropped.
    """
    root = Line(0, -1, Span("", 1))
    stack = [root]
    for line in lines:
        while stack[-1].indent >= line.indent:
            stack.pop()
        parent = stack[-1]
        if parent.truncated:
            continue  # a line of a block that is too deep, already reported
        if parent is root and line.indent != 0:
            hint = "only the lines of a block are indented"
            report(line.number, line.content.column, "unexpected indentation", hint)
        elif parent.children and line.indent != parent.children[0].indent:
            first = parent.children[0]
            message = f"inconsistent indentation: expected {first.indent} spaces"
            hint = f"indent it like line {first.number}, the first line of this block"
            report(line.number, line.content.column, message, hint)
            line.indent = first.indent
        if len(stack) > MAX_BLOCK_DEPTH + 1:  # `parent` opens block number MAX + 1
            hint = f"a block may hold blocks at most {MAX_BLOCK_DEPTH} deep"
            report(parent.number, parent.content.column, too_deep_message(), hint)
            parent.truncated = True
            continue
        parent.children.append(line)
        stack.append(line)
    return root.children
