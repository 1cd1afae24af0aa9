"""Loader: read routine files, expand their includes and check sound paths; the front end's I/O."""

from __future__ import annotations

import codecs
import difflib
import os
import re
import stat
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePath

from coach import nodes
from coach.checker import check
from coach.diagnostics import Diagnostic, Position, RoutineNotFound, sort_key
from coach.parser import parse

MAX_FILE_BYTES = 1024 * 1024  # 1 MB
MAX_INCLUDE_DEPTH = 8
MAX_INCLUDES = 1000  # include statements expanded in one routine, against runaway fan-out
ROUTINE_SUFFIX = ".routine"
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


def load(path: Path | str) -> tuple[nodes.Routine, list[Diagnostic]]:
    """Read, parse and expand a routine file; raise RoutineNotFound if it cannot be read."""
    routine, diagnostics, _ = _load(Path(path))
    return routine, diagnostics


def load_text(text: str, path: Path | str) -> tuple[nodes.Routine, list[Diagnostic]]:
    """Parse `text` as if read from `path`, and expand its includes relative to that path."""
    display = str(path)
    routine, diagnostics = parse(text, display)
    absolute = Path(path).absolute()
    expander = _Expander(routine)
    routine.inputs.append(str(absolute.resolve()))
    root = _Source(display, absolute.parent.resolve())
    expander.expand(routine.body, root, ((absolute.resolve(), display),))
    return routine, _sorted(diagnostics + expander.diagnostics)


def check_file(path: Path | str, known_voices: Collection[str] | None = None) -> list[Diagnostic]:
    """Load and check a routine file: every diagnostic, sorted by position."""
    routine, diagnostics, readable = _load(Path(path))
    if readable:
        diagnostics = diagnostics + check(routine, known_voices)
    return _sorted(diagnostics)


def decode(data: bytes, display: str) -> tuple[str, list[Diagnostic]]:
    """UTF-8 text of a file (BOM dropped); each line with bad bytes gets a positioned error."""
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    lines, diagnostics = [], []
    for number, raw in enumerate(_LINE_BREAK.split(data), start=1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as error:
            text = raw.decode("utf-8", errors="replace")
            column = len(raw[: error.start].decode("utf-8")) + 1
            message = f"the file is not valid UTF-8 (byte 0x{raw[error.start]:02X})"
            position = Position(display, number, column)
            hint = "save the routine file as UTF-8"
            diagnostics.append(Diagnostic(position, message, "error", hint, text))
            lines.append(text)
    return "\n".join(lines), diagnostics


def _load(path: Path) -> tuple[nodes.Routine, list[Diagnostic], bool]:
    """The routine, its diagnostics, and whether the file could be read as a routine at all."""
    data, size = _read(path)
    display = str(path)
    if size > MAX_FILE_BYTES:
        message = f"the file is {_size(size)}, over the 1 MB limit for a routine file"
        diagnostic = Diagnostic(Position(display, 1, 1), message)
        return nodes.Routine(display, nodes.Header(), []), [diagnostic], False
    text, decode_errors = decode(data, display)
    routine, diagnostics = load_text(text, path)
    return routine, _sorted(decode_errors + diagnostics), True


def _read(path: Path) -> tuple[bytes, int]:
    """At most MAX_FILE_BYTES + 1 bytes of the file, and its size."""
    try:
        with path.open("rb") as file:
            size = os.fstat(file.fileno()).st_size
            data = file.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise RoutineNotFound(f"{path}: no such routine file") from None
    except IsADirectoryError:
        raise RoutineNotFound(f"{path}: is a directory, not a routine file") from None
    except PermissionError:
        raise RoutineNotFound(f"{path}: permission denied") from None
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise RoutineNotFound(f"{path}: cannot be read ({reason})") from None
    return data, max(size, len(data))


@dataclass(frozen=True)
class _Source:
    """A routine file as diagnostics name it, and the resolved directory its paths stay in."""

    display: str
    directory: Path

    def join(self, relative: str) -> str:
        return os.path.normpath(os.path.join(os.path.dirname(self.display), relative))


Chain = tuple[tuple[Path, str], ...]  # (resolved path, display path) from the root file down


class _Expander:
    """Fills Include bodies from their files and points Sound nodes at their directories."""

    def __init__(self, routine: nodes.Routine) -> None:
        self.routine = routine
        self.diagnostics: list[Diagnostic] = []
        self.includes = 0

    def report(
        self, position: Position, message: str, hint: str | None = None, warning: bool = False
    ) -> None:
        self.diagnostics.append(self.routine.diagnostic(position, message, hint, warning))

    def expand(self, body: Sequence[nodes.Statement], source: _Source, chain: Chain) -> None:
        for statement in body:
            if isinstance(statement, nodes.Include):
                self.include(statement, source, chain)
            elif isinstance(statement, nodes.Sound):
                self.sound(statement, source)
            elif isinstance(statement, nodes.Step):
                self.expand(statement.body, source, chain)
            elif isinstance(statement, nodes.For):
                self.expand(statement.body, source, chain)
                self.expand(statement.between, source, chain)

    def resolve(self, where: Position, kind: str, raw: str, source: _Source) -> Path | None:
        """`raw` resolved against the file's directory, if it stays inside that tree."""
        try:
            target = (source.directory / raw).resolve()
        except (OSError, RuntimeError, ValueError) as error:
            self.report(where, f"{kind} path '{raw}' cannot be resolved ({error})")
            return None
        if target != source.directory and source.directory not in target.parents:
            message = f"{kind} path '{raw}' leaves the directory of this routine"
            hint = f"include and sound paths must stay inside {source.directory}"
            self.report(where, message, hint)
            return None
        return target

    def include(self, node: nodes.Include, source: _Source, chain: Chain) -> None:
        where = _at(node, "path")
        display = source.join(node.path)
        target = self.resolve(where, "include", node.path, source)
        if target is None or not self.may_include(where, target, display, chain):
            return
        self.routine.inputs.append(str(target))
        text = self.read_included(where, node.path, target, display)
        if text is None:
            return
        included, diagnostics = parse(text, display)
        self.diagnostics.extend(diagnostics)
        self.routine.sources.update(included.sources)
        node.body = included.body
        if not included.body and not diagnostics:
            message = f"included file '{node.path}' has no statements"
            self.report(where, message, warning=True)
        self.expand(node.body, _Source(display, target.parent), (*chain, (target, display)))

    def may_include(self, where: Position, target: Path, display: str, chain: Chain) -> bool:
        """Depth, cycle and count limits for one more include."""
        resolved = [path for path, _ in chain]
        if target in resolved:
            names = [name for _, name in chain[resolved.index(target) :]] + [display]
            self.report(where, "include cycle: " + " -> ".join(names))
            return False
        if len(chain) > MAX_INCLUDE_DEPTH:
            message = f"includes are nested more than {MAX_INCLUDE_DEPTH} deep"
            hint = f"include depth may be at most {MAX_INCLUDE_DEPTH}"
            self.report(where, message, hint)
            return False
        self.includes += 1
        if self.includes > MAX_INCLUDES:
            if self.includes == MAX_INCLUDES + 1:
                message = f"more than {MAX_INCLUDES} includes in one routine"
                self.report(where, message, f"a routine may expand at most {MAX_INCLUDES}")
            return False
        return True

    def read_included(self, where: Position, raw: str, target: Path, display: str) -> str | None:
        """The text of an included file, or None after reporting why it cannot be had."""
        kind = _kind(target)
        if kind == "missing":
            self.report(where, f"included file not found: '{raw}'", _similar_file(raw, target))
            return None
        if kind != "file":
            self.report(where, f"included path is not a file: '{raw}'")
            return None
        try:
            data, size = _read(target)
        except RoutineNotFound as error:
            self.report(where, f"cannot include '{raw}': {error}")
            return None
        if size > MAX_FILE_BYTES:
            message = (
                f"included file '{raw}' is {_size(size)}, over the 1 MB limit for a routine file"
            )
            self.report(where, message)
            return None
        text, diagnostics = decode(data, display)
        self.diagnostics.extend(diagnostics)
        return text

    def sound(self, node: nodes.Sound, source: _Source) -> None:
        if node.is_builtin:
            return
        node.base_dir = str(source.directory)
        where = _at(node, "name")
        target = self.resolve(where, "sound", node.name, source)
        if target is None:
            return
        self.routine.inputs.append(str(target))
        kind = _kind(target)
        if kind == "missing":
            self.report(where, f"sound file not found: '{node.name}'", _sound_hint(node.name))
        elif kind != "file":
            self.report(where, f"sound path is not a file: '{node.name}'")


def _kind(path: Path) -> str:
    """What is at `path`: "file", "missing", or "other" (a directory, a device, no access)."""
    try:
        return "file" if stat.S_ISREG(path.stat().st_mode) else "other"
    except (FileNotFoundError, NotADirectoryError):
        return "missing"
    except (OSError, ValueError):
        return "other"


def _at(node: nodes.Include | nodes.Sound, key: str) -> Position:
    return replace(node.position, column=node.columns.get(key, node.position.column))


def _similar_file(raw: str, target: Path) -> str | None:
    try:
        names = [p.name for p in target.parent.glob(f"*{ROUTINE_SUFFIX}")]
    except OSError:
        return None
    close = difflib.get_close_matches(target.name, names, n=1, cutoff=0.6)
    return f"did you mean '{PurePath(raw).with_name(close[0])}'?" if close else None


def _sound_hint(name: str) -> str:
    close = difflib.get_close_matches(name, nodes.BUILTIN_SOUNDS, n=1, cutoff=0.6)
    if close and not PurePath(name).suffix:
        return f"did you mean the built-in sound '{close[0]}'?"
    builtins = ", ".join(nodes.BUILTIN_SOUNDS)
    return f"built-in sounds are {builtins}; a file path is relative to the routine file"


def _size(size: int) -> str:
    return f"{size / MAX_FILE_BYTES:.1f} MB" if size >= 2 * MAX_FILE_BYTES else f"{size:,} bytes"


def _sorted(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return sorted(dict.fromkeys(diagnostics), key=sort_key)
