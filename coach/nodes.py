"""Syntax tree of a routine file: small dataclasses, each carrying its source position."""

from __future__ import annotations

from dataclasses import dataclass, field

from coach.diagnostics import Diagnostic, Position

# Nodes have slots: a 1 MB routine makes 100,000s of them, and a __dict__ each doubles that.
# Durations are float seconds; tempos are stored as the period of one rep in seconds.
# Statement nodes with values carry `columns`: field name -> 1-based column of that value on
# the statement's line (e.g. Repeat.columns["count"]), so diagnostics can point at the value;
# For uses "variable", "items" and "items[i]". Missing keys fall back to `position.column`.


@dataclass(slots=True)
class Text:
    """Spoken or displayed text that may hold `{name}` placeholders; `{{`/`}}` are literal."""

    raw: str
    position: Position


@dataclass(slots=True)
class Setting:
    """`tempo:`, `rate:`, `voice:`, `gap:` or `side:`; value is period s, wpm, voice id,
    seconds, or the side as written (it may hold `{name}` from an enclosing `for`)."""

    position: Position
    key: str
    value: float | int | str
    columns: dict[str, int] = field(default_factory=dict, repr=False, compare=False)


@dataclass(slots=True)
class Say:
    position: Position
    text: Text


@dataclass(slots=True)
class Pause:
    position: Position
    seconds: float
    columns: dict[str, int] = field(default_factory=dict, repr=False, compare=False)


@dataclass(slots=True)
class Hold:
    position: Position
    seconds: float
    countdown: int | None = None
    halfway: bool = False
    check_in: float | None = None  # `check in every D`: seconds between check-ins
    columns: dict[str, int] = field(default_factory=dict, repr=False, compare=False)


@dataclass(slots=True)
class Breathe:
    position: Position
    count: int
    inhale: float
    exhale: float
    hold_in: float = 0.0
    hold_out: float = 0.0
    hiss: bool = False
    columns: dict[str, int] = field(default_factory=dict, repr=False, compare=False)


@dataclass(slots=True)
class Beat:
    position: Position
    word: Text


@dataclass(slots=True)
class CountEvery:
    position: Position
    every: int
    columns: dict[str, int] = field(default_factory=dict, repr=False, compare=False)


@dataclass(slots=True)
class Repeat:
    """N reps; `period` is None to use the current tempo. Beats/count come from its block."""

    position: Position
    count: int
    period: float | None = None
    beats: list[Beat] = field(default_factory=list)
    count_every: CountEvery | None = None
    # Settings written inside the repeat block (a `tempo:` there also sets `period`).
    settings: list[Setting] = field(default_factory=list)
    check_in: float | None = None  # `, check in every D` on its line: seconds between them
    columns: dict[str, int] = field(default_factory=dict, repr=False, compare=False)


@dataclass(slots=True)
class Sound:
    """A built-in sound name (`chime`, `bell`, `tick`) or a file path relative to `base_dir`.

    The loader sets `seconds` to a sound file's real length, as probed, for the 4-hour bound.
    """

    position: Position
    name: str
    base_dir: str = "."
    seconds: float = 0.0
    columns: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_builtin(self) -> bool:
        return self.name in BUILTIN_SOUNDS


@dataclass(slots=True)
class Step:
    position: Position
    name: Text
    body: list[Statement] = field(default_factory=list)


@dataclass(slots=True)
class For:
    """`for NAME in: A, B, C:` with its block, and the optional `between:` block after it."""

    position: Position
    variable: str
    items: list[str]
    body: list[Statement] = field(default_factory=list)
    between: list[Statement] = field(default_factory=list)
    columns: dict[str, int] = field(default_factory=dict, repr=False, compare=False)


@dataclass(slots=True)
class Include:
    """`include: FILE`; the loader fills `body` with the included file's statements."""

    position: Position
    path: str
    body: list[Statement] = field(default_factory=list)
    columns: dict[str, int] = field(default_factory=dict, repr=False, compare=False)


Statement = Setting | Say | Pause | Hold | Breathe | Repeat | Sound | Step | For | Include

BUILTIN_SOUNDS = ("chime", "bell", "tick")


def children(statement: Statement) -> list[list[Statement]]:
    """The statement lists inside `statement`: a block's body (and a for's between block)."""
    if isinstance(statement, (Step, Include)):
        return [statement.body]
    if isinstance(statement, For):
        return [statement.body, statement.between]
    return []


def uses_side(routine: Routine) -> bool:
    """Whether a `side:` setting appears anywhere in the routine (then it is stereo)."""
    if any(setting.key == "side" for setting in routine.header.settings):
        return True
    pending = [routine.body]
    while pending:  # iterative: a tree of any depth
        for statement in pending.pop():
            if isinstance(statement, Setting) and statement.key == "side":
                return True
            if isinstance(statement, Repeat) and any(s.key == "side" for s in statement.settings):
                return True
            pending.extend(children(statement))
    return False


def block_depth(body: list[Statement]) -> int:
    """How deep blocks nest in `body` (a repeat block counts one); an include adds none.

    Iterative, so a tree of any depth is measured without exhausting the stack.
    """
    deepest = 0
    pending: list[tuple[list[Statement], int]] = [(body, 0)]
    while pending:
        statements, depth = pending.pop()
        for statement in statements:
            if isinstance(statement, Repeat) and _has_block(statement):
                deepest = max(deepest, depth + 1)
            inner = depth if isinstance(statement, Include) else depth + 1
            for block in children(statement):
                deepest = max(deepest, inner if block else depth)
                pending.append((block, inner))
    return deepest


HEADER_TEXT_KEYS = ("title", "about", "equipment", "source", "language")
CHECK_IN_KEY = "check-in"  # a header key that may repeat: the lines `check in every` speaks
SETTING_KEYS = ("tempo", "rate", "voice", "gap", "side")
#: What `side:` may say: the ear the speech, clicks and sounds of its scope come from.
SIDES = ("left", "right", "both")


@dataclass
class Header:
    title: str = ""
    about: str = ""
    equipment: str = ""
    source: str = ""
    language: str = ""  # as written; "" is English (coach.words.spoken_in)
    settings: list[Setting] = field(default_factory=list)
    check_ins: list[Text] = field(default_factory=list)  # `check-in:` lines, in order
    # Where each text key's value starts, for the checker's messages.
    places: dict[str, Position] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class Routine:
    """A parsed routine file: its header and top-level statements."""

    path: str
    header: Header
    body: list[Statement]
    # Source lines of this file and of every included file, by file path, for diagnostics.
    sources: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)
    # Every file a session of it reads: the routine, its includes, its sound files (resolved).
    inputs: list[str] = field(default_factory=list, repr=False, compare=False)

    def diagnostic(
        self, position: Position, message: str, hint: str | None = None, warning: bool = False
    ) -> Diagnostic:
        """A diagnostic at `position`, quoting its source line when the file is known."""
        lines = self.sources.get(position.file, [])
        source = lines[position.line - 1] if 1 <= position.line <= len(lines) else None
        return Diagnostic(position, message, "warning" if warning else "error", hint, source)


def _has_block(repeat: Repeat) -> bool:
    return bool(repeat.beats or repeat.count_every or repeat.settings)
