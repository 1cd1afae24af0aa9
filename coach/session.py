"""Session: runs the pipeline stages, from a ROUTINE argument to a timeline and its sources."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coach import library, loader, nodes
from coach.bounds import MAX_ROUTINE
from coach.compiler import Overrides, compile_routine
from coach.defaults import DEFAULT_RATE
from coach.diagnostics import CoachError, Diagnostic, Position, RoutineError
from coach.plan import ClipInfo, Plan, SpeechLine
from coach.timeline import Timeline
from coach.units import format_length

if TYPE_CHECKING:  # the audio stages load only when a session is built
    from numpy.typing import NDArray

    from coach.cache import ClipCache
    from coach.mixer import SourceBank
    from coach.soundfile import SpilledSound
    from coach.speech import Clip

SAMPLE_RATE = 22050

Progress = Callable[[int, int], None]


@dataclass
class Checked:
    """A routine that passed the checker, with the warnings it still has."""

    routine: nodes.Routine
    warnings: list[Diagnostic] = field(default_factory=list)


def load_checked(
    ref: str,
    known_voices: set[str] | None = None,
    loaded: tuple[nodes.Routine, list[Diagnostic]] | None = None,
) -> Checked:
    """Load ROUTINE (a built-in name or a path; `loaded`: as loader.load has read it already)
    and check it; raise RoutineError on errors."""
    routine, diagnostics = loaded or loader.load(library.resolve(ref))
    diagnostics = list(diagnostics)
    if not any(d.is_error for d in diagnostics):
        from coach import checker

        diagnostics += checker.check(routine, known_voices)
    errors = [d for d in diagnostics if d.is_error]
    if errors:
        raise RoutineError(diagnostics)
    return Checked(routine, [d for d in diagnostics if not d.is_error])


def language_of(routine: nodes.Routine) -> str:
    """The code of the routine's `language:` (English when it names none, or one coach does
    not speak: the checker refuses that one)."""
    from coach.words import spoken_in

    return spoken_in(routine.header.language)


def routine_channels(ref: str) -> int:
    """2 when ROUTINE uses `side:` (its session is stereo), else 1; 1 too when it cannot be
    read (building it then says why). Reads and parses only: quick enough to ask before the
    audio device is opened."""
    try:
        routine, _ = loader.load(library.resolve(ref))
    except CoachError:
        return 1
    return 2 if nodes.uses_side(routine) else 1


def routine_inputs(ref: str) -> list[str]:
    """The files a session of ROUTINE would read (the routine, includes, sound files); empty
    if it cannot be read (building it then says why)."""
    try:
        routine, _ = loader.load(library.resolve(ref))
    except CoachError:
        return []
    return routine.inputs


@dataclass
class Session:
    """Everything a sink needs: the timeline and the audio it refers to."""

    timeline: Timeline
    bank: SourceBank
    plan: Plan
    routine: nodes.Routine
    warnings: list[Diagnostic]
    notes: list[str] = field(default_factory=list)  # what --minutes changed, for the user
    #: Says more in the session's voice while it plays (text to int16 clip, through the cache).
    speak: Callable[[str], NDArray[Any]] | None = None


def build(
    ref: str,
    overrides: Overrides | None = None,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    minutes: float | None = None,
    engine: str | None = None,
) -> Session:
    """Parse, check, compile, speak and lay out ROUTINE (fitted to about `minutes`), speaking
    through `engine` (a name or command template for `coach.engines.make_engine`; None: the
    chosen one, see `coach.engines.chosen_name`).

    With `minutes`, the routine is built once to measure it, rewritten by `coach.fitting`
    and built again (corrected once more if it missed); what changed is told in
    `Session.notes`, and a length out of reach raises `coach.fitting.FitError`.
    """
    from coach import cache as cache_module
    from coach.enginememo import RememberedEngine
    from coach.engines import make_engine

    directory = cache_dir or cache_module.default_cache_dir()
    loaded = loader.load(library.resolve(ref))
    # The engine speaks the routine's language: chosen by it when the user chose none, and
    # refused (LanguageError) before anything is rendered when it cannot.
    language = language_of(loaded[0])
    speaker = RememberedEngine(make_engine(engine, language=language), directory)
    overrides = overrides or Overrides()
    if overrides.voice is not None:
        speaker.check_voice(overrides.voice)
    checked = load_checked(ref, {v.id for v in speaker.voices()}, loaded)
    clip_cache = cache_module.ClipCache(directory, speaker)
    renderer = _Renderer(overrides, clip_cache)
    routine = checked.routine
    built = renderer.build(routine, progress)
    notes: list[str] = []
    if minutes is not None:
        routine, built, note = _fit(routine, built, minutes, renderer)
        notes.append(note)
    _check_laid_out(built.timeline, routine.path)
    from coach.cuefit import speech_fit

    warnings = checked.warnings + speech_fit(routine, built.plan, built.infos, SAMPLE_RATE)
    bank = renderer.bank(built)
    return Session(
        built.timeline, bank, built.plan, routine, warnings, notes, renderer.speaker(built.plan)
    )


def _check_laid_out(timeline: Timeline, path: str) -> None:
    """The bounds again on the laid-out session, before any of it is mixed: its real speech
    lengths and the listener's pacing (a lead-in, --breath) can take it past them."""
    from coach.bounds import MAX_EVENTS
    from coach.layout import session_too_long

    problems = [found] if (found := session_too_long(timeline, path)) else []
    if len(timeline.events) > MAX_EVENTS:
        message = (
            f"the session has {len(timeline.events):,} events once laid out,"
            f" over the limit of {MAX_EVENTS:,}"
        )
        problems.append(Diagnostic(Position(path, 1, 1), message, "error", None))
    if problems:
        raise RoutineError(problems)


@dataclass
class _Built:
    """One compiled and laid-out version of a routine."""

    plan: Plan
    infos: dict[SpeechLine, ClipInfo]
    timeline: Timeline

    @property
    def seconds(self) -> float:
        return self.timeline.length / self.timeline.sample_rate


class _Renderer:
    """Compiles, speaks and lays out routines, keeping every clip and sound it has loaded."""

    def __init__(self, overrides: Overrides, clip_cache: ClipCache) -> None:
        self.overrides = overrides
        self.cache = clip_cache
        self.clips: dict[SpeechLine, Clip] = {}
        self.files: dict[str, NDArray[Any] | SpilledSound] = {}  # path -> float32 samples
        self.sound_lengths = builtin_lengths()

    def build(self, routine: nodes.Routine, progress: Progress | None = None) -> _Built:
        # A long routine makes tens of thousands of small objects that all live on: the
        # cyclic garbage collector would only walk them again and again (and with them
        # every module loaded), so it waits until they are made.
        with _collector_paused():
            return self._build(routine, progress)

    def _build(self, routine: nodes.Routine, progress: Progress | None) -> _Built:
        from coach import speech
        from coach.layout import lay_out
        from coach.soundfile import SoundFileError, load_sound_file

        plan = compile_routine(routine, self.overrides)
        lines = plan.speech_lines()
        missing = [line for line in lines if line not in self.clips]
        if missing:
            # The speech of a whole routine is bounded like the routine: what the clips
            # already made take comes off the budget of the ones still to make.
            have = sum(self.clips[line].length for line in lines if line in self.clips)
            budget = int(MAX_ROUTINE * SAMPLE_RATE) - have
            try:
                rendered = speech.render_speech(
                    missing, self.cache, SAMPLE_RATE, progress, budget=budget
                )
            except speech.SpeechLineError as error:
                raise error.at(first_position(plan, error.line)) from error
            self.clips.update(rendered)
        for name in plan.sound_names():
            if name not in self.sound_lengths:
                try:
                    spill = self.cache.directory  # a long sound waits there, not in memory
                    self.files[name] = load_sound_file(Path(name), SAMPLE_RATE, spill)
                except SoundFileError as error:  # changed since it was checked, say
                    where = next((s.position for s in plan.segments if s.sound == name), None)
                    if where is None:
                        raise
                    raise RoutineError([routine.diagnostic(where, str(error))]) from None
                self.sound_lengths[name] = len(self.files[name])
        clips = {line: self.clips[line] for line in lines}
        infos = {line: ClipInfo(clip.key, clip.length) for line, clip in clips.items()}
        timeline = lay_out(plan, SAMPLE_RATE, infos, self.sound_lengths)
        timeline.about = routine.header.about  # the exported files' comment tag
        return _Built(plan, infos, timeline)

    def speaker(self, plan: Plan) -> Callable[[str], NDArray[Any]]:
        """Text to a clip in the voice of `plan`'s first line (its voice, rate and pitch)."""
        from coach import speech

        lines = plan.speech_lines()
        first = lines[0] if lines else SpeechLine("", self.overrides.voice, DEFAULT_RATE)

        def speak(text: str) -> NDArray[Any]:
            line = SpeechLine(text, first.voice, first.rate, first.pitch, first.language)
            return speech.render_speech([line], self.cache, SAMPLE_RATE)[line].samples

        return speak

    def bank(self, built: _Built) -> SourceBank:
        from functools import partial

        from coach import derived
        from coach.mixer import SourceBank
        from coach.speech import ClipSamples

        speech = ClipSamples(self.clips[line] for line in built.infos)
        files = {name: self.files[name] for name in built.plan.sound_names() if name in self.files}
        keep = partial(derived.remembered, self.cache.directory)  # built-in sounds made once
        return SourceBank(SAMPLE_RATE, speech, files, levelled_speech=True, keep=keep)


def builtin_lengths() -> dict[str, int]:
    """The length of every built-in sound at the session rate, known without making any."""
    from coach.expansion import BUILTIN_SOUND_SECONDS, builtin_sound_length

    return {name: builtin_sound_length(name, SAMPLE_RATE) for name in BUILTIN_SOUND_SECONDS}


def first_position(plan: Plan, line: SpeechLine) -> Position | None:
    """Where the routine first asks for `line` to be spoken (an overlay without a position
    of its own speaks for its segment's statement)."""
    for segment in plan.segments:
        if segment.line == line and segment.position is not None:
            return segment.position
        for overlay in segment.overlays:
            if overlay.line == line and (overlay.position or segment.position) is not None:
                return overlay.position or segment.position
    return None


@contextmanager
def _collector_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _fit(
    routine: nodes.Routine, built: _Built, minutes: float, renderer: _Renderer
) -> tuple[nodes.Routine, _Built, str]:
    """Fit `routine` (built once as `built`) to about `minutes`; the note says what changed."""
    from coach import fitting

    target = minutes * 60.0
    timing = fitting.measure(routine, built.plan, built.seconds)
    fitting.check_reach(timing, target, minutes)
    best: tuple[fitting.Factors, nodes.Routine, _Built] | None = None
    aim = target
    for _ in range(2):  # a fit, then one correction if the plan missed the prediction
        factors = fitting.solve(timing, aim)
        if factors == fitting.Factors():
            return routine, built, fitting.describe(timing, factors, minutes, built.seconds)
        fitted = fitting.fit(routine, factors)
        rebuilt = renderer.build(fitted)
        if best is None or abs(rebuilt.seconds - target) < abs(best[2].seconds - target):
            best = (factors, fitted, rebuilt)
        missed = rebuilt.seconds - timing.predict(factors)
        if abs(missed) < 1.0:
            break
        aim = target - missed
    assert best is not None
    factors, fitted, rebuilt = best
    if not fitting.close_enough(rebuilt.seconds, target):
        raise fitting.FitError(
            f"{timing.name} cannot be fitted to {minutes:g} minutes:"
            f" the closest it came is {format_length(rebuilt.seconds)}"
        )
    return fitted, rebuilt, fitting.describe(timing, factors, minutes, rebuilt.seconds)


#: Seconds a letter or digit takes to say at 1 word a minute, for a length not yet measured:
#: espeak-ng takes 0.05 to 0.08 s a letter at 150 wpm, festival's HTS voice about the same.
ESTIMATE_SECONDS_PER_LETTER_AT_1_WPM = 9.75


@dataclass(frozen=True)
class Measured:
    """A routine's title and length, and whether the length is exact or estimated."""

    title: str
    seconds: float
    exact: bool
    inputs: tuple[str, ...] = ()  # the files it was measured from: includes, sound files


def measure(
    ref: str, cache_dir: Path | None = None, overrides: Overrides | None = None
) -> Measured:
    """ROUTINE's title and length at `overrides` (the listener's pacing: the profile's, for
    `coach list`, so it tells the length `coach show` does) without synthesizing anything.

    Clip lengths come from the clip cache's index where it has them; other lines are
    estimated from their letters and rate. No engine is started when its facts are
    remembered (coach.enginememo), and none that is slow to ask when they are not.
    """
    from coach import cache as cache_module
    from coach.clipprep import CLIP_RECIPE, PAD_SECONDS
    from coach.enginememo import RememberedEngine
    from coach.engines import LanguageError, make_engine
    from coach.layout import lay_out

    directory = cache_dir or cache_module.default_cache_dir()
    routine = load_checked(ref).routine
    plan = compile_routine(routine, overrides or Overrides())
    lines = plan.speech_lines()
    infos: dict[SpeechLine, ClipInfo] = {}
    try:
        speaker: RememberedEngine | None = RememberedEngine(
            make_engine(language=language_of(routine)), directory
        )
    except LanguageError:  # the engine chosen cannot speak it: the lengths are estimated
        speaker = None
    if speaker is not None and speaker.facts_at_hand():
        store = cache_module.ClipCache(directory, speaker)
        index = store.known_lengths(f"{SAMPLE_RATE} Hz, {CLIP_RECIPE}")
        for line in lines:
            key = store.key(line)
            if key in index:
                infos[line] = ClipInfo(key, index[key])
    exact = len(infos) == len(set(lines))
    for line in lines:
        if line not in infos:
            letters = sum(c.isalnum() for c in line.text)
            seconds = letters * ESTIMATE_SECONDS_PER_LETTER_AT_1_WPM / line.rate + 2 * PAD_SECONDS
            infos[line] = ClipInfo("~", round(seconds * SAMPLE_RATE))
    sound_lengths = builtin_lengths()
    for name in plan.sound_names():  # sound files: their probed lengths, not decoded
        if name not in sound_lengths:
            from coach.soundprobe import probe_sound

            seconds = probe_sound(Path(name), verify=False).seconds
            sound_lengths[name] = round(seconds * SAMPLE_RATE)
    timeline = lay_out(plan, SAMPLE_RATE, infos, sound_lengths)
    inputs = tuple(routine.inputs)
    return Measured(routine.header.title, timeline.length / SAMPLE_RATE, exact, inputs)
