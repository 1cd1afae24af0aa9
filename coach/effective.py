"""Which value of each setting a session uses, and where it comes from: the command line, the
environment, the profile, the routine or coach's defaults.

`coach config show` tells this key by key; `coach show` and `coach list` name the profile's
keys in effect, so a listener can see that their profile changes a routine. Precedence is
the one `coach.profile.with_profile` and the compiler apply (see docs/architecture.md):
command line, profile, routine, default; the engine and the cache directory may also come
from the environment (COACH_ENGINE, COACH_CACHE_DIR), which beats the profile.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from coach.settings import SETTINGS, TEMPO_KEYS

if TYPE_CHECKING:
    from coach import nodes

COMMAND_LINE = "command line"
ENVIRONMENT = "environment"
PROFILE = "profile"
ROUTINE = "routine"
DEFAULT = "default"

#: The keys that change how long a session is: what `coach list` measures at, and (with
#: --minutes) the pacing `coach play --resume` keeps a place per. The volumes and the
#: loudness change no length; lead-in is for `coach play` only, which list does not measure
#: for (nor does show), and only comes before the step a resume goes on from.
LENGTH_KEYS = ("engine", "rate", "voice", "pitch", "gap", "tempo", "slower", "faster", "breath")
#: Profile keys that change nothing `coach show` or `export` make: play's own switches and
#: where clips are kept.
_NOT_SESSION = ("lead-in", "listen", "media-keys", "cache-dir")
#: The settings a routine's header may hold that the profile's keys can override.
_ROUTINE_KEYS = ("rate", "voice", "gap", "tempo")


@dataclass(frozen=True)
class Effective:
    """One row of `coach config show`: a key, its value as shown, and where it comes from."""

    key: str
    value: str
    source: str


def written(key: str, value: Any) -> str:
    """A read value as the profile writes it: `4-6` for a breath, `130` for a rate."""
    return str(SETTINGS[key].write(value))


def describe(values: Mapping[str, Any]) -> str:
    """`rate 100, slower 50`: keys and their values, for one line of text."""
    return ", ".join(f"{key} {written(key, value)}" for key, value in values.items())


def in_effect(
    profile: Mapping[str, Any], given: Mapping[str, Any] | None = None, live: bool = False
) -> dict[str, Any]:
    """The profile's keys that a session still takes from it: those the command line
    (`given`, read values; None for not given) does not replace, and that change the session
    (not lead-in unless `live`, nor play's switches or the cache directory). Any of tempo,
    slower and faster on the command line replaces whichever of them the profile has."""
    given = {key: value for key, value in (given or {}).items() if value is not None}
    tempo_given = any(key in given for key in TEMPO_KEYS)
    dropped = set(_NOT_SESSION) - ({"lead-in"} if live else set())
    return {
        key: value
        for key, value in profile.items()
        if key not in given and key not in dropped and not (tempo_given and key in TEMPO_KEYS)
    }


def profile_note(given: Mapping[str, Any], live: bool = False) -> str:
    """What `coach show` says above its table when the profile changes the routine:
    `rate 100, slower 50 from your profile (coach config show)`; "" when it changes nothing.
    `given`: the command's option values by parameter name (`click_volume`; None: not
    given)."""
    from coach.profile import load_profile

    options = {key.replace("_", "-"): value for key, value in given.items()}
    mine = in_effect(load_profile(), options, live)
    return f"{describe(mine)} from your profile (coach config show)" if mine else ""


def length_keys(profile: Mapping[str, Any]) -> dict[str, Any]:
    """The profile's keys that change a session's length (`coach list` measures at them)."""
    return {key: value for key, value in profile.items() if key in LENGTH_KEYS}


def table(
    profile: Mapping[str, Any],
    given: Mapping[str, Any] | None = None,
    routine: nodes.Routine | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[Effective]:
    """Every setting's effective value and its source, in SETTINGS order, then the routine's
    language when there is a routine. `given`: the command line's read values (None: not
    given; the engine and cache directory read from the environment are not here but in
    `environ`, as click reads them into the same options)."""
    import os

    env = os.environ if environ is None else environ
    given = {key: value for key, value in (given or {}).items() if value is not None}
    header = _header_settings(routine)
    tempo_given = [key for key in TEMPO_KEYS if key in given]
    rows = []
    for key in SETTINGS:
        if key in given:
            rows.append(Effective(key, _shown(key, given[key]), COMMAND_LINE))
        elif key in TEMPO_KEYS and tempo_given and key in profile:
            replaced = (
                f"(--{tempo_given[0]} replaces your profile's {describe({key: profile[key]})})"
            )
            rows.append(Effective(key, f"- {replaced}", COMMAND_LINE))
        elif key in ("engine", "cache-dir") and env.get(_env_name(key), "").strip():  # ' ': unset
            rows.append(Effective(key, env[_env_name(key)].strip(), ENVIRONMENT))
        elif key in profile:
            rows.append(Effective(key, _shown(key, profile[key]), PROFILE))
        elif key in header:
            shown = header[key]
            if key == "tempo":  # the profile's slower or faster changes the routine's tempo
                shown += _scaled(header[key], given if tempo_given else profile)
            rows.append(Effective(key, shown, ROUTINE))
        else:
            rows.append(Effective(key, _default(key, routine, env), DEFAULT))
    if routine is not None:
        rows.append(_language(routine))
    return rows


def _scaled(tempo: str, chosen: Mapping[str, Any]) -> str:
    """` (9 with slower 50%)`: the routine's tempo as `slower` or `faster` in `chosen` (the
    command line's, else the profile's) changes it; "" when neither is there."""
    for key, sign in (("slower", -1), ("faster", 1)):
        if chosen.get(key) is not None:
            per_minute = float(tempo.split()[0]) * (1 + sign * chosen[key] / 100.0)
            return f" ({round(per_minute, 1):g} with {key} {_shown(key, chosen[key])})"
    return ""


def _env_name(key: str) -> str:
    return "COACH_ENGINE" if key == "engine" else "COACH_CACHE_DIR"


def _shown(key: str, value: Any) -> str:
    """A value with its unit, as a person reads it: `130 wpm`, `0.5 s`, `60%`."""
    text = written(key, value)
    unit = {
        "rate": " wpm",
        "gap": " s",
        "tempo": " per minute",
        "slower": "%",
        "faster": "%",
        "volume": "%",
        "click-volume": "%",
        "loudness": " LUFS",
        "lead-in": " s",
    }.get(key, "")
    return text + unit


def _header_settings(routine: nodes.Routine | None) -> dict[str, str]:
    """The routine header's rate, voice, gap and tempo, as shown (the last of each wins, as
    the compiler reads them)."""
    found: dict[str, str] = {}
    for setting in routine.header.settings if routine is not None else []:
        if setting.key == "tempo":  # a period in seconds: shown as reps per minute
            found["tempo"] = f"{round(60.0 / float(setting.value), 1):g} per minute"
        elif setting.key in _ROUTINE_KEYS:
            found[setting.key] = _shown(setting.key, setting.value)
    return found


def _default(key: str, routine: nodes.Routine | None, env: Mapping[str, str]) -> str:
    """coach's own value for `key`, said without starting a speech engine."""
    from coach.defaults import DEFAULT_GAP, DEFAULT_RATE, DEFAULT_TEMPO_PERIOD

    if key == "engine":
        from coach.engines import default_name

        return default_name(_language_code(routine))
    if key == "cache-dir":
        from coach.cache import default_cache_dir

        return str(default_cache_dir({}))  # the environment's is its own row
    per_minute = f"{60.0 / DEFAULT_TEMPO_PERIOD:g} per minute"
    return {
        "rate": f"{DEFAULT_RATE} wpm",
        "voice": "the engine's own",
        "pitch": "50",
        "volume": "100%",
        "click-volume": "100%",
        "gap": f"{DEFAULT_GAP:g} s",
        "tempo": f"each repeat's own, else {per_minute}",
        "slower": "-",
        "faster": "-",
        "breath": "each breathe's own",
        "loudness": "-16 LUFS",  # coach.loudness.DEFAULT_LOUDNESS (a test keeps them equal;
        # importing it here would load numpy into `coach config show`)
        "lead-in": "none (play only)",
        "listen": "false (play only)",
        "media-keys": "true (play only)",
    }[key]


def _language_code(routine: nodes.Routine | None) -> str:
    from coach.words import ENGLISH, spoken_in

    return ENGLISH if routine is None else spoken_in(routine.header.language)


def _language(routine: nodes.Routine) -> Effective:
    """The routine's language: the routine's alone (no option or profile key sets it)."""
    from coach.words import words_for

    code = _language_code(routine)
    shown = f"{code} ({words_for(code).name})"
    return Effective("language", shown, ROUTINE if routine.header.language else DEFAULT)


def render(rows: list[Effective]) -> str:
    """The rows as a table: key, value, from."""
    width = max(len("key"), *(len(row.key) for row in rows)) + 2
    values = max(len("value"), *(len(row.value) for row in rows)) + 2
    lines = [f"{'key':<{width}}{'value':<{values}}from"]
    lines += [f"{row.key:<{width}}{row.value:<{values}}{row.source}" for row in rows]
    return "\n".join(line.rstrip() for line in lines)
