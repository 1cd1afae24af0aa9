"""The one factory for speech engines: which engine a name or command template means, the
default (festival's HTS voice on Linux when installed, else pyttsx3), and whether it speaks a
routine's language."""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Mapping

from coach.diagnostics import SpeechError
from coach.engine import LIMIT_SECONDS, SpeechEngine
from coach.words import ENGLISH, words_for

#: Environment variable naming the engine (the CLI's --engine beats it; it beats the profile).
ENGINE_ENV = "COACH_ENGINE"
#: The engines by name, in the order `coach voices` lists them.
NAMES = ("festival", "flite", "pyttsx3")
#: What `--engine` and the profile's `engine` accept, for messages.
CHOICES = (
    "festival, flite, pyttsx3, or a command template with {out}, "
    "like 'piper --model M --output_file {out}'"
)


class LanguageError(SpeechError):
    """The engine chosen has no voice for the routine's language (festival and flite speak
    English only): said before anything is rendered."""


def make_engine(
    name: str | None = None,
    timeout: float = LIMIT_SECONDS,
    environ: Mapping[str, str] | None = None,
    language: str | None = None,
) -> SpeechEngine:
    """The engine `name` means: festival, flite, pyttsx3, or a command template (any text
    with `{out}` in it); None means the chosen one (`chosen_name`). SpeechError for a name that
    is none of these, or a template whose program is not installed.

    `language` (a code of coach.words) is the language it must speak, when given: with no
    engine named or configured, a language other than English picks pyttsx3 (espeak-ng speaks
    them all); an engine that speaks English only raises LanguageError."""
    origin = ""
    if name is None:
        name, origin = chosen(environ, language or ENGLISH)
    engine = _engine(name.strip(), timeout)
    speaks = getattr(engine, "languages", None)  # None: whatever language it is given
    if language is not None and speaks is not None and language not in speaks:
        raise LanguageError(_cannot_speak(name.strip(), language, origin))
    return engine


def _engine(wanted: str, timeout: float) -> SpeechEngine:
    if wanted == "pyttsx3":
        from coach.pyttsx3_engine import Pyttsx3Engine

        return Pyttsx3Engine(timeout=timeout)
    if wanted == "festival":
        from coach.festival_engine import FestivalEngine

        return FestivalEngine(timeout)
    if wanted == "flite":
        from coach.flite_engine import FliteEngine

        return FliteEngine(timeout)
    from coach.command_engine import OUT, CommandEngine

    if OUT in wanted or len(wanted.split()) > 1:  # a command: it says what it lacks
        return CommandEngine(wanted, timeout)
    close = difflib.get_close_matches(wanted.lower(), NAMES, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise SpeechError(f"unknown speech engine {wanted!r}; {hint}choose {CHOICES}")


def _cannot_speak(name: str, language: str, origin: str) -> str:
    """One message: what cannot speak which language, where it was chosen, what to do."""
    spoken = words_for(language).name
    chosen_by = f" ({origin})" if origin else ""
    return (
        f"the {name} engine{chosen_by} speaks English only, and this routine is in {spoken}"
        f" (language: {language}); speak it with --engine pyttsx3, whose espeak-ng voices"
        f" speak {spoken}"
    )


def chosen_name(environ: Mapping[str, str] | None = None, language: str = ENGLISH) -> str:
    """The engine in use when none is named: $COACH_ENGINE, else the profile's `engine`, else
    `default_name(language)`."""
    return chosen(environ, language)[0]


def chosen(environ: Mapping[str, str] | None = None, language: str = ENGLISH) -> tuple[str, str]:
    """`chosen_name` and where it was set, for messages ("" for the default)."""
    env = os.environ if environ is None else environ
    configured = env.get(ENGINE_ENV, "").strip()
    if configured:
        return configured, f"set in {ENGINE_ENV}"
    from coach.profile import load_profile

    profiled = load_profile().get("engine")
    if profiled:
        return str(profiled), "set in your profile"
    return default_name(language), ""


def default_name(language: str = ENGLISH) -> str:
    """festival on Linux when its HTS voice is installed (the clearest voice) and the
    language is English; pyttsx3 elsewhere, wherever festival's HTS voice is missing, and for
    every other language (festival's voices speak English only; espeak-ng's speak them all)."""
    if language == ENGLISH and sys.platform.startswith("linux"):
        from coach.festival_engine import has_hts_voice

        if has_hts_voice():
            return "festival"
    return "pyttsx3"


def installed_names() -> list[str]:
    """The engines this machine has, of `NAMES` (pyttsx3 needs its package)."""
    from importlib.util import find_spec

    from coach import festival_engine, flite_engine

    found = {
        "festival": festival_engine.installed(),
        "flite": flite_engine.installed(),
        "pyttsx3": find_spec("pyttsx3") is not None,
    }
    return [name for name in NAMES if found[name]]
