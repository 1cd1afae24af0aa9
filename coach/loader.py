"""Loader: read routine files, expand their includes and check sound paths; the front end's I/O."""

from __future__ import annotations

import codecs
import difflib
import errno
import os
import re
import stat
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePath

from coach import library, nodes
from coach.bounds import MAX_BLOCK_DEPTH, MAX_FILE_BYTES, MAX_INCLUDE_DEPTH
from coach.checker import check
from coach.diagnostics import Diagnostic, Position, RoutineNotFound, sort_key
from coach.filekinds import file_kind
from coach.parser import parse
from coach.soundprobe import SoundFileError, SoundInfo, probe_sound
from coach.words import LANGUAGES, language_code

__all__ = ["MAX_FILE_BYTES", "MAX_INCLUDE_DEPTH", "check_file", "decode", "load", "load_text"]

MAX_INCLUDES = 1000  # include statements expanded in one routine, against runaway fan-out
# Text read for one routine, itself and every include counted each time it is included: the
# parser's work stays bounded however often a large file is included.
MAX_TOTAL_BYTES = 2 * MAX_FILE_BYTES
ROUTINE_SUFFIX = ".routine"
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
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
    expander = _Expander(routine, len(text))
    routine.inputs.append(str(absolute.resolve()))
    root = _Source(display, absolute.parent.resolve())
    expander.expand(routine.body, root, ((absolute.resolve(), display),), 0)
    return routine, _sorted(diagnostics + expander.diagnostics)


def check_file(
    path: Path | str,
    known_voices: Collection[str] | None = None,
    voices_for: Callable[[nodes.Routine], Collection[str] | None] | None = None,
) -> list[Diagnostic]:
    """Load and check a routine file: every diagnostic, sorted by position.

    `voices_for`, if given, is asked for the known voices once the routine is loaded (say,
    only when it names a voice), so the file is read and parsed once.
    """
    routine, diagnostics, readable = _load(Path(path))
    if readable:
        if voices_for is not None:
            known_voices = voices_for(routine)
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
    """At most MAX_FILE_BYTES + 1 bytes of the file, and its size.

    Opened without blocking and checked on the open descriptor before any read: a FIFO
    would block `open` until a writer came, and a device could be read forever.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except (FileNotFoundError, NotADirectoryError):
        raise RoutineNotFound(f"{path}: no such routine file") from None
    except PermissionError:
        raise RoutineNotFound(f"{path}: permission denied") from None
    except OSError as error:
        if error.errno == errno.ENXIO:  # a socket refuses to be opened
            raise RoutineNotFound(f"{path}: is a socket, not a routine file") from None
        raise RoutineNotFound(f"{path}: cannot be read ({error.strerror or error})") from None
    except ValueError as error:  # a NUL in the name
        raise RoutineNotFound(f"{path}: cannot be read ({error})") from None
    try:
        mode, size = (info := os.fstat(fd)).st_mode, info.st_size
        if not stat.S_ISREG(mode):
            raise RoutineNotFound(f"{path}: is {file_kind(mode)}, not a routine file")
        chunks, left = [], MAX_FILE_BYTES + 1
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 16))):
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as error:
        raise RoutineNotFound(f"{path}: cannot be read ({error.strerror or error})") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
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

    def __init__(self, routine: nodes.Routine, read: int) -> None:
        self.routine = routine
        self.diagnostics: list[Diagnostic] = []
        self.includes = 0
        self.read = read  # characters of text read so far, the routine's own included
        self.sounds: dict[Path, SoundInfo | str] = {}  # probed files: what they are, or why not

    def report(
        self, position: Position, message: str, hint: str | None = None, warning: bool = False
    ) -> None:
        self.diagnostics.append(self.routine.diagnostic(position, message, hint, warning))

    def expand(
        self, body: Sequence[nodes.Statement], source: _Source, chain: Chain, depth: int
    ) -> None:
        """Expand the includes of `body`, a block inside `depth` blocks (across includes)."""
        for statement in body:
            if isinstance(statement, nodes.Include):
                self.include(statement, source, chain, depth)
            elif isinstance(statement, nodes.Sound):
                self.sound(statement, source)
            elif isinstance(statement, nodes.Step):
                self.expand(statement.body, source, chain, depth + 1)
            elif isinstance(statement, nodes.For):
                self.expand(statement.body, source, chain, depth + 1)
                self.expand(statement.between, source, chain, depth + 1)

    def resolve(self, where: Position, kind: str, raw: str, source: _Source) -> Path | None:
        """`raw` resolved against the file's directory, if it stays inside that tree."""
        try:
            target = (source.directory / raw).resolve()
        except (OSError, RuntimeError, ValueError) as error:
            reason = getattr(error, "strerror", None) or type(error).__name__
            self.report(where, f"{kind} path '{_excerpt(raw)}' cannot be resolved ({reason})")
            return None
        if target != source.directory and source.directory not in target.parents:
            message = f"{kind} path '{_excerpt(raw)}' leaves the directory of this routine"
            hint = f"include and sound paths must stay inside {source.directory}"
            self.report(where, message, hint)
            return None
        return target

    def include(self, node: nodes.Include, source: _Source, chain: Chain, depth: int) -> None:
        where = _at(node, "path")
        if node.path.startswith(library.SHARED_PREFIX):
            display = node.path  # diagnostics in the shared file name it as it was written
            target = self.shared(where, node.path)
        else:
            display = source.join(node.path)
            target = self.resolve(where, "include", node.path, source)
        if target is None or not self.may_include(where, target, display, chain):
            return
        self.routine.inputs.append(str(target))
        text = self.read_included(where, node.path, target, display, chain)
        if text is None:
            return
        included, diagnostics = parse(text, display)
        self.diagnostics.extend(diagnostics)
        if node.path.startswith(library.SHARED_PREFIX):
            self.language(where, node.path, included.header.language)
        self.routine.sources.update(included.sources)
        inner = nodes.block_depth(included.body)
        if depth + inner > MAX_BLOCK_DEPTH:
            message = f"blocks are nested more than {MAX_BLOCK_DEPTH} deep with the included file"
            hint = (
                f"this include is inside {depth} blocks and '{_excerpt(node.path)}' nests"
                f" blocks {inner} deep; an included file's blocks count as if written here"
            )
            self.report(where, message, hint)
            return
        node.body = included.body
        if not included.body and not diagnostics:
            message = f"included file '{_excerpt(node.path)}' has no statements"
            self.report(where, message, warning=True)
        inside = _Source(display, target.parent)
        self.expand(node.body, inside, (*chain, (target, display)), depth)

    def shared(self, where: Position, raw: str) -> Path | None:
        """The package's shared include file that `coach:NAME` names; any other name is
        refused, so the namespace never reaches another file of the package or beyond."""
        target = library.shared_include(raw.removeprefix(library.SHARED_PREFIX))
        if target is None:
            known = ", ".join(library.SHARED_PREFIX + name for name in library.shared_names())
            message = f"'{_excerpt(raw)}' is not one of coach's shared include files"
            self.report(where, message, f"coach's shared include files are {known}")
            return None
        return target.resolve()

    def language(self, where: Position, raw: str, written: str) -> None:
        """A warning when a shared include file speaks another language than the routine."""
        want, have = language_code(self.routine.header.language), language_code(written)
        if want is None or have is None or want == have:
            return  # a language coach does not speak is the checker's to report
        ours = " or ".join(f"include: {name}" for name in library.shared_in(want))
        spoken = LANGUAGES[want].name
        hint = f"the one in {spoken} is: {ours}" if ours else f"none of them is in {spoken}"
        message = f"'{raw}' is in {LANGUAGES[have].name}, but this routine is in {spoken}"
        self.report(where, message, hint, warning=True)

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

    def read_included(
        self, where: Position, raw: str, target: Path, display: str, chain: Chain
    ) -> str | None:
        """The text of an included file, or None after reporting why it cannot be had."""
        if self.read > MAX_TOTAL_BYTES:
            return None  # already reported: nothing more is read
        shown = _excerpt(raw)
        kind = _kind(target)
        if kind == "missing":
            hint = _shared_hint(raw) or _similar_file(raw, target, [p for p, _ in chain])
            self.report(where, f"included file not found: '{shown}'", hint)
            return None
        if kind != "file":
            self.report(where, f"included path is not a file: '{shown}' is {kind}")
            return None
        try:
            data, size = _read(target)
        except RoutineNotFound as error:
            self.report(where, f"cannot include '{shown}': {_excerpt(str(error), 200)}")
            return None
        if size > MAX_FILE_BYTES:
            message = (
                f"included file '{shown}' is {_size(size)}, over the 1 MB limit for a routine file"
            )
            self.report(where, message)
            return None
        self.read += len(data)
        if self.read > MAX_TOTAL_BYTES:
            if self.read - len(data) <= MAX_TOTAL_BYTES:  # reported once, at the first over
                message = "the routine and its includes are more than 2 MB of text in all"
                hint = "each time a file is included its text counts again"
                self.report(where, message, hint)
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
        if _kind(target) == "missing":
            shown = _excerpt(node.name)
            self.report(where, f"sound file not found: '{shown}'", _sound_hint(node.name))
            return
        found = self.sounds.get(target)
        if found is None:
            try:
                found = probe_sound(target, _excerpt(node.name))
            except SoundFileError as error:
                found = str(error)
            self.sounds[target] = found
        if isinstance(found, str):
            self.report(where, found)
        else:
            node.seconds = found.seconds


def _kind(path: Path) -> str:
    """What is at `path`: "file", "missing", or what else it is ("a directory", ...)."""
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return "missing"
    except (OSError, ValueError):
        return "something that cannot be read"
    return "file" if stat.S_ISREG(mode) else file_kind(mode)


def _at(node: nodes.Include | nodes.Sound, key: str) -> Position:
    return replace(node.position, column=node.columns.get(key, node.position.column))


def _shared_hint(raw: str) -> str | None:
    """For `include: _safety.routine` beside a routine that has no such file: the name
    that includes coach's own from any folder."""
    name = PurePath(raw).name
    for shared in library.shared_names():
        if name == f"_{shared}{ROUTINE_SUFFIX}":
            return f"to include coach's own, write: include: {library.SHARED_PREFIX}{shared}"
    return None


def _similar_file(raw: str, target: Path, including: Sequence[Path]) -> str | None:
    """A file beside `target` named like it, never one of the files including it (that
    would be a cycle)."""
    try:
        files = target.parent.glob(f"*{ROUTINE_SUFFIX}")
        names = [p.name for p in files if p.resolve() not in including]
    except (OSError, RuntimeError):
        return None
    close = difflib.get_close_matches(target.name, names, n=1, cutoff=0.6)
    return f"did you mean '{PurePath(raw).with_name(close[0])}'?" if close else None


def _sound_hint(name: str) -> str:
    close = difflib.get_close_matches(name, nodes.BUILTIN_SOUNDS, n=1, cutoff=0.6)
    if close and not PurePath(name).suffix:
        return f"did you mean the built-in sound '{close[0]}'?"
    builtins = ", ".join(nodes.BUILTIN_SOUNDS)
    return f"built-in sounds are {builtins}; a file path is relative to the routine file"


def _excerpt(text: str, limit: int = 200) -> str:
    """A path or name as messages quote it: a hostile file's can be a megabyte long."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _size(size: int) -> str:
    return f"{size / MAX_FILE_BYTES:.1f} MB" if size >= 2 * MAX_FILE_BYTES else f"{size:,} bytes"


def _sorted(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return sorted(dict.fromkeys(diagnostics), key=sort_key)
