"""Session: runs the pipeline stages, from a ROUTINE argument to a timeline and its sources."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from coach import library, loader, nodes
from coach.compiler import Overrides, compile_routine
from coach.diagnostics import Diagnostic, RoutineError
from coach.plan import ClipInfo, Plan
from coach.timeline import Timeline

SAMPLE_RATE = 22050

Progress = Callable[[int, int], None]


@dataclass
class Checked:
    """A routine that passed the checker, with the warnings it still has."""

    routine: nodes.Routine
    warnings: list[Diagnostic] = field(default_factory=list)


def load_checked(ref: str, known_voices: set[str] | None = None) -> Checked:
    """Load ROUTINE (a built-in name or a path) and check it; raise RoutineError on errors."""
    path = library.resolve(ref)
    routine, diagnostics = loader.load(path)
    if not any(d.is_error for d in diagnostics):
        from coach import checker

        diagnostics += checker.check(routine, known_voices)
    errors = [d for d in diagnostics if d.is_error]
    if errors:
        raise RoutineError(diagnostics)
    return Checked(routine, [d for d in diagnostics if not d.is_error])


@dataclass
class Session:
    """Everything a sink needs: the timeline and the audio it refers to."""

    timeline: Timeline
    bank: object  # coach.mixer.SourceBank; typed loosely so importing this stays light
    plan: Plan
    routine: nodes.Routine
    warnings: list[Diagnostic]
    notes: list[str] = field(default_factory=list)  # what --minutes changed, for the user


def build(
    ref: str,
    overrides: Overrides | None = None,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    minutes: float | None = None,
) -> Session:
    """Parse, check, compile, speak and lay out ROUTINE (fitted to about `minutes`)."""
    from coach import cache as cache_module
    from coach import sounds, speech
    from coach.layout import lay_out
    from coach.mixer import SourceBank
    from coach.soundfile import load_sound_file

    engine = speech.Pyttsx3Engine()
    overrides = overrides or Overrides()
    if overrides.voice is not None:
        engine.check_voice(overrides.voice)
    checked = load_checked(ref, {v.id for v in engine.voices()})
    plan = compile_routine(checked.routine, overrides)
    clip_cache = cache_module.ClipCache(cache_dir or cache_module.default_cache_dir(), engine)
    clips = speech.render_speech(plan.speech_lines(), clip_cache, SAMPLE_RATE, progress)

    files = {}
    sound_lengths = {
        name: len(sounds.builtin_sound(name, SAMPLE_RATE))
        for name in ("click", "click-accent", "chime", "bell", "tick")
    }
    for name in plan.sound_names():
        if name not in sound_lengths:
            files[name] = load_sound_file(Path(name), SAMPLE_RATE)
            sound_lengths[name] = len(files[name])
    infos = {line: ClipInfo(clip.key, len(clip.samples)) for line, clip in clips.items()}
    timeline = lay_out(plan, SAMPLE_RATE, infos, sound_lengths)
    bank = SourceBank(
        SAMPLE_RATE, speech={clip.key: clip.samples for clip in clips.values()}, files=files
    )
    return Session(timeline, bank, plan, checked.routine, checked.warnings)
