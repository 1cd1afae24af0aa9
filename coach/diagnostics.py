"""Diagnostics: one positioned problem type, and the library's named exceptions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]

MAX_PER_FILE = 50  # diagnostics shown per file; one line then says how many more there are
MAX_SOURCE_WIDTH = 120  # characters of a source line shown, "..." marks included
MAX_MESSAGE = 300  # characters of a message or hint, against text quoted from a hostile file
_MARK = "..."
# Control characters from a file would drive the terminal (escape sequences); each shows as
# one "?" so the caret still lines up. Tabs stay: they keep their width above the caret.
_CONTROLS = {code: "?" for code in [*range(0x20), *range(0x7F, 0xA0)] if code != 0x09}


@dataclass(frozen=True, slots=True)  # slots: a 1 MB routine has 100,000s of them
class Position:
    """A place in a routine file: 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Diagnostic:
    """A problem found in a routine, able to render itself with a caret under the column."""

    position: Position
    message: str
    severity: Severity = "error"
    hint: str | None = None
    source_line: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def end_column(self) -> int | None:
        """The column just after the word the diagnostic points at (1-based, exclusive, as
        editors mark a range): up to the next space or comma, a `{placeholder}` whole; None
        when the source line is not known or the column is past its end."""
        if self.source_line is None:
            return None
        line = self.source_line.rstrip("\r\n")
        start = self.position.column - 1
        if not 0 <= start < len(line):
            return None
        if line[start] == "{":
            close = line.find("}", start)
            return (close if close >= 0 else len(line) - 1) + 2
        end = start + 1
        while end < len(line) and not line[end].isspace() and line[end] != ",":
            end += 1
        return end + 1

    def render(self) -> str:
        lines = [f"{self.position}: {self.severity}: {_shortened(self.message)}"]
        if self.source_line is not None:
            line = self.source_line.rstrip("\r\n")
            text, caret = clip_source(line, self.position.column)
            text = text.translate(_CONTROLS)
            lines.append(f"    {text}")
            # Tabs before the column keep their width so the caret lines up.
            prefix = "".join(ch if ch == "\t" else " " for ch in text[:caret])
            lines.append(f"    {prefix.ljust(caret)}^")
        if self.hint:
            lines.append(f"    hint: {_shortened(self.hint)}")
        return "\n".join(lines)


def clip_source(text: str, column: int) -> tuple[str, int]:
    """At most MAX_SOURCE_WIDTH characters of `text` around `column` (1-based), with "..."
    where it was cut, and the 0-based index in them of the column's character."""
    index = max(column - 1, 0)
    if len(text) <= MAX_SOURCE_WIDTH:
        return text, index
    one_cut = MAX_SOURCE_WIDTH - len(_MARK)  # room when only one end is cut
    if index < one_cut - len(_MARK) * 2:  # near the start: cut only the end
        return text[:one_cut] + _MARK, index
    if index > len(text) - one_cut + len(_MARK) * 2:  # near the end: cut only the start
        start = len(text) - one_cut
        return _MARK + text[start:], index - start + len(_MARK)
    room = MAX_SOURCE_WIDTH - 2 * len(_MARK)
    start = index - room // 2
    return _MARK + text[start : start + room] + _MARK, index - start + len(_MARK)


def render_diagnostics(diagnostics: Iterable[Diagnostic]) -> str:
    """The diagnostics rendered in the order given, at most MAX_PER_FILE of each file; after
    a file's last one shown, one line says how many more that file has."""
    blocks: list[str] = []
    shown: dict[str, int] = {}
    hidden: dict[str, list[int]] = {}  # file -> [errors, warnings] not shown
    marker: dict[str, int] = {}  # file -> index in `blocks` of its "and N more" line
    for diagnostic in diagnostics:
        file = diagnostic.position.file
        if shown.get(file, 0) < MAX_PER_FILE:
            shown[file] = shown.get(file, 0) + 1
            blocks.append(diagnostic.render())
            continue
        if file not in marker:
            marker[file] = len(blocks)
            blocks.append("")
        hidden.setdefault(file, [0, 0])[0 if diagnostic.is_error else 1] += 1
    for file, index in marker.items():
        blocks[index] = _more(file, *hidden[file])
    return "\n".join(blocks)


def _more(file: str, errors: int, warnings: int) -> str:
    """`and 12 more errors in FILE` (and of warnings, when some are hidden too)."""
    parts = [f"{errors:,} more error{'s' if errors != 1 else ''}"] if errors else []
    if warnings:
        parts.append(f"{warnings:,} more warning{'s' if warnings != 1 else ''}")
    return f"and {' and '.join(parts)} in {file}"


def _shortened(text: str) -> str:
    text = text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - len(_MARK)] + _MARK
    return text.translate(_CONTROLS)


def sort_key(diagnostic: Diagnostic) -> tuple[str, int, int]:
    p = diagnostic.position
    return (p.file, p.line, p.column)


class CoachError(Exception):
    """Base of every error a user can cause; the CLI turns these into one clear message."""


class RoutineError(CoachError):
    """A routine has errors; nothing may be rendered, played or written."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = sorted(diagnostics, key=sort_key)
        super().__init__(self.render())

    def render(self) -> str:
        return render_diagnostics(self.diagnostics)


class RoutineNotFound(CoachError):
    """ROUTINE is neither a built-in name nor a readable file."""


class SpeechError(CoachError):
    """The text-to-speech engine is missing, or failed, or the voice is unknown."""


class CacheError(SpeechError):
    """The clip cache directory cannot be created, read or written."""


class AudioDeviceError(CoachError):
    """No audio device can be opened for live playback."""


class ExportError(CoachError):
    """The encoder is missing or failed, or the output path cannot be written."""
