"""The one factory for speech engines: which engine a name or command template means, and the
default (festival's HTS voice on Linux when installed, else pyttsx3)."""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Mapping

from coach.diagnostics import SpeechError
from coach.engine import LIMIT_SECONDS, SpeechEngine

#: Environment variable naming the engine (the CLI's --engine beats it; it beats the profile).
ENGINE_ENV = "COACH_ENGINE"
#: The engines by name, in the order `coach voices` lists them.
NAMES = ("festival", "flite", "pyttsx3")
#: What `--engine` and the profile's `engine` accept, for messages.
CHOICES = (
    "festival, flite, pyttsx3, or a command template with {out}, "
    "like 'piper --model M --output_file {out}'"
)


def make_engine(
    name: str | None = None,
    timeout: float = LIMIT_SECONDS,
    environ: Mapping[str, str] | None = None,
) -> SpeechEngine:
    """The engine `name` means: festival, flite, pyttsx3, or a command template (any text
    with `{out}` in it); None means the chosen one (`chosen_name`). SpeechError for a name that
    is none of these, or a template whose program is not installed."""
    if name is None:
        name = chosen_name(environ)
    wanted = name.strip()
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


def chosen_name(environ: Mapping[str, str] | None = None) -> str:
    """The engine in use when none is named: $COACH_ENGINE, else the profile's `engine`, else
    `default_name()`."""
    env = os.environ if environ is None else environ
    configured = env.get(ENGINE_ENV, "").strip()
    if configured:
        return configured
    from coach.profile import load_profile

    profiled = load_profile().get("engine")
    return str(profiled) if profiled else default_name()


def default_name() -> str:
    """festival on Linux when its HTS voice is installed (the clearest voice); pyttsx3
    elsewhere, and wherever festival's HTS voice is missing."""
    if sys.platform.startswith("linux"):
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
