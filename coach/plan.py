"""The compiled plan: a routine flattened into segments, before speech lengths are known."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from coach.diagnostics import Position

OverlayKind = Literal["speech", "click", "sound", "hiss", "checkin"]
#: The ear a segment sounds in (`side:`); "both" is the middle.
Side = Literal["left", "right", "both"]
#: What the body does in a stretch: breathe in or out, hold after either, or a `hold`.
PhaseKind = Literal["in", "hold-in", "out", "hold-out", "hold"]


@dataclass(frozen=True)
class SpeechLine:
    """One thing to say: the identity of a speech clip (text, voice id or None for the default
    voice, rate in words per minute). It lives with the plan, which first needs it; the speech
    stage turns it into a clip."""

    text: str
    voice: str | None
    rate: int
    pitch: int | None = None  # 0..100; None is the engine's default (espeak-ng: 50)
    language: str = "en"  # the routine's `language:`; with no voice, the engine picks by it


@dataclass(slots=True)  # not frozen: a long session makes thousands; frozen ones cost 3x
class Overlay:
    """Something that sounds `at` seconds into its segment without taking time of its own."""

    at: float
    kind: OverlayKind
    line: SpeechLine | None = None
    accent: bool = False
    sound: str = ""
    seconds: float = 0.0  # hiss: how long it lasts; checkin: how long it may wait for room
    position: Position | None = None  # its routine line, for warnings (None: its segment's)
    # Only speech: when set, the line ends here (seconds into the segment) if it can, starting
    # no earlier than `at` (the count of a repeat's last rep ends with the rep).
    ends: float | None = None


@dataclass(frozen=True)
class Phase:
    """A stretch of a breathe or hold segment, `at` seconds into it: what a picture of the
    session draws (coach.picture). `hiss` marks a breath out with its hiss; `countdown` the
    numbers a hold counts down at its end."""

    kind: PhaseKind
    at: float
    seconds: float
    hiss: bool = False
    countdown: int = 0


@dataclass
class Segment:
    """One stretch of the session, laid end to end with the others.

    Its length is `seconds` when fixed (pause, hold, breathe, repeat); otherwise the
    length of its spoken `line` plus `gap`, or of its `sound`.
    """

    steps: tuple[int, ...]
    seconds: float | None = None
    line: SpeechLine | None = None
    gap: float = 0.0
    sound: str = ""
    overlays: list[Overlay] = field(default_factory=list)
    # Reps fixed on a beat grid; kept so the duration stays exact in samples.
    reps: int = 0
    period: float = 0.0
    position: Position | None = None  # the statement it comes from, for warnings
    phases: tuple[Phase, ...] = ()  # breathe and hold: what is done when
    side: Side = "both"  # where everything of the segment sounds, overlays included

    @property
    def step(self) -> int | None:
        return self.steps[-1] if self.steps else None


@dataclass
class Plan:
    title: str
    step_names: list[str]
    segments: list[Segment]
    speech_gain: float = 1.0
    click_gain: float = 1.0
    intro_segments: int = 0  # leading silence and the --lead-in countdown, before the routine
    # Per step: the index of the first segment after its line, so that a step that makes
    # no segment of its own (only settings) still has its place.
    step_starts: list[int] = field(default_factory=list)
    loudness: float | None = None  # the listener's target in LUFS (None: the default)
    stereo: bool = False  # the routine uses `side:`: the session is made in stereo
    language: str = "en"  # the routine's language (coach.words)

    def speech_lines(self) -> list[SpeechLine]:
        """Every line to synthesize, in order of first use, each once."""
        seen: dict[SpeechLine, None] = {}
        for segment in self.segments:
            if segment.line is not None:
                seen.setdefault(segment.line)
            for overlay in segment.overlays:
                if overlay.line is not None:
                    seen.setdefault(overlay.line)
        return list(seen)

    def sound_names(self) -> list[str]:
        """Every sound (built-in name or file path) the plan plays, each once."""
        seen: dict[str, None] = {}
        for segment in self.segments:
            if segment.sound:
                seen.setdefault(segment.sound)
            for overlay in segment.overlays:
                if overlay.kind == "sound":
                    seen.setdefault(overlay.sound)
        return list(seen)


@dataclass(frozen=True)
class ClipInfo:
    """What layout needs to know of a rendered speech clip."""

    key: str
    length: int
