"""Diagnostics: one positioned problem type, and the library's named exceptions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
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

    def render(self) -> str:
        lines = [f"{self.position}: {self.severity}: {self.message}"]
        if self.source_line is not None:
            text = self.source_line.rstrip("\r\n")
            lines.append(f"    {text}")
            # Tabs before the column keep their width so the caret lines up.
            prefix = "".join(ch if ch == "\t" else " " for ch in text[: self.position.column - 1])
            lines.append(f"    {prefix}^")
        if self.hint:
            lines.append(f"    hint: {self.hint}")
        return "\n".join(lines)


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
        return "\n".join(d.render() for d in self.diagnostics)


class RoutineNotFound(CoachError):
    """ROUTINE is neither a built-in name nor a readable file."""


class SpeechError(CoachError):
    """The text-to-speech engine is missing, or failed, or the voice is unknown."""


class AudioDeviceError(CoachError):
    """No audio device can be opened for live playback."""


class ExportError(CoachError):
    """The encoder is missing or failed, or the output path cannot be written."""
