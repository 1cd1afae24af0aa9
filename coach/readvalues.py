"""Reading setting values: numbers with units, ranges, switches, breath patterns and engines.

Each reader takes command-line text or a TOML value and gives the value, or raises
SettingError saying what it accepts; coach.settings pairs them with the keys.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coach import units

if TYPE_CHECKING:
    from coach.compiler import Breath

RATE_RANGE = (80, 450)  # words per minute
PITCH_RANGE = (0, 100)
VOLUME_RANGE = (0.0, 200.0)  # percent, for speech and for the metronome
GAP_RANGE = (0.0, 10.0)  # seconds
TEMPO_RANGE = (1.0, 240.0)  # reps per minute
SLOWER_RANGE = (1.0, 90.0)  # percent
FASTER_RANGE = (1.0, 300.0)  # percent
BREATH_PART_RANGE = (0.0, 60.0)  # seconds, each part of a --breath pattern
LEAD_IN_RANGE = (0.0, 60.0)  # seconds
LOUDNESS_RANGE = (-30.0, -14.0)  # LUFS, integrated (coach.loudness; louder is limiter-bound)

#: tempo, slower and faster are one setting written three ways: one of them at a time.
TEMPO_KEYS = ("tempo", "slower", "faster")

BREATH_FORMS = "IN-OUT, IN-HOLD-OUT or IN-HOLD-OUT-HOLD in seconds, like 4-6, 4-7-8 or 4-4-4-4"


class SettingError(ValueError):
    """A value a setting does not accept; the message says what it accepts."""


# ---------------------------------------------------------------------------------------------
# reading values: shared by the command-line options and the profile

_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def _shown(raw: object) -> str:
    if isinstance(raw, str):
        return repr(raw)
    if isinstance(raw, float):
        return f"{raw:g}"
    return str(raw)


def _number(raw: object, suffixes: tuple[str, ...] = ()) -> float | None:
    """The number in a TOML number or in text like '50' or '50%'; None if there is none."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        text = raw.strip()
        for suffix in suffixes:
            if text.lower().endswith(suffix):
                text = text[: -len(suffix)].rstrip()
                break
        if not _PLAIN_NUMBER.fullmatch(text):
            return None
        value = float(text)
    else:
        return None
    return value if value == value and abs(value) != float("inf") else None


def plain(value: float) -> int | float:
    """50.0 -> 50, so the profile reads `volume = 50`, not `volume = 50.0`."""
    return int(value) if float(value).is_integer() else value


def _in_range(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= value <= bounds[1]


def _bounds(bounds: tuple[float, float]) -> str:
    return f"from {bounds[0]:g} to {bounds[1]:g}"


def read_rate(raw: object) -> int:
    """Words per minute: 140, '140' or '140 wpm', from 80 to 450."""
    expected = f"expected a speech rate {_bounds(RATE_RANGE)} words per minute, like 140"
    if isinstance(raw, str):
        try:
            value: float = units.parse_rate(raw)
        except units.UnitError:
            raise SettingError(f"{expected}, not {_shown(raw)}") from None
    else:
        number = _number(raw)
        if number is None or not number.is_integer():
            raise SettingError(f"{expected}, not {_shown(raw)}")
        value = number
    if not _in_range(value, RATE_RANGE):
        raise SettingError(f"{expected}, not {_shown(raw)}")
    return int(value)


def read_voice(raw: object) -> str:
    """A voice id as `coach voices` lists it (checked against the engine when it is used)."""
    if not isinstance(raw, str) or not raw.strip():
        raise SettingError(
            f"expected a voice id from `coach voices`, like 'gmw/en-us', not {_shown(raw)}"
        )
    return raw.strip()


def read_pitch(raw: object) -> int:
    """A whole number from 0 (low) to 100 (high); 50 is the voice's own pitch."""
    number = _number(raw)
    if number is None or not number.is_integer() or not _in_range(number, PITCH_RANGE):
        raise SettingError(
            f"expected a pitch {_bounds(PITCH_RANGE)} (a whole number; 50 is the voice's own), "
            f"not {_shown(raw)}"
        )
    return int(number)


def _percent(bounds: tuple[float, float], what: str) -> Callable[[object], float]:
    def read(raw: object) -> float:
        number = _number(raw, suffixes=("%",))
        if number is None or not _in_range(number, bounds):
            raise SettingError(
                f"expected {what} in percent {_bounds(bounds)}, like 50 or 150, not {_shown(raw)}"
            )
        return number

    return read


read_volume = _percent(VOLUME_RANGE, "a speech volume")
read_click_volume = _percent(VOLUME_RANGE, "a metronome volume")
read_slower = _percent(SLOWER_RANGE, "how much slower")
read_faster = _percent(FASTER_RANGE, "how much faster")


def _seconds(bounds: tuple[float, float], what: str) -> Callable[[object], float]:
    """Seconds from a number (`1`, `0.5`) or a duration (`0.5s`, `1 sec`)."""

    def read(raw: object) -> float:
        expected = f"expected {what} {_bounds(bounds)} seconds, like 0.5s or 1"
        value = _number(raw)
        if value is None and isinstance(raw, str):
            try:
                value = units.parse_duration(raw)
            except units.UnitError as error:
                raise SettingError(f"{expected}, not {_shown(raw)} ({error.message})") from None
        if value is None or not _in_range(value, bounds):
            raise SettingError(f"{expected}, not {_shown(raw)}")
        return value

    return read


read_gap = _seconds(GAP_RANGE, "a gap")
read_lead_in = _seconds(LEAD_IN_RANGE, "a lead-in")


def read_loudness(raw: object) -> float:
    """Integrated loudness in LUFS, from -30 to -14: -16, '-20' or '-14 LUFS'."""
    number = _number(raw, suffixes=("lufs",))
    if number is None or not _in_range(number, LOUDNESS_RANGE):
        raise SettingError(
            f"expected a loudness in LUFS {_bounds(LOUDNESS_RANGE)}, like -16 or -14, "
            f"not {_shown(raw)}"
        )
    return number


def read_tempo(raw: object) -> float:
    """Reps per minute: 15, or a tempo as routines write it ('15 per minute', 'every 4s')."""
    expected = f"expected reps per minute {_bounds(TEMPO_RANGE)}, like 15 or '15 per minute'"
    value = _number(raw)
    if value is None and isinstance(raw, str):
        try:
            value = 60.0 / units.parse_tempo(raw)
        except units.UnitError:
            raise SettingError(f"{expected}, not {_shown(raw)}") from None
    if value is None or not _in_range(value, TEMPO_RANGE):
        raise SettingError(f"{expected}, not {_shown(raw)}")
    return value


def read_breath(raw: object) -> Breath:
    """A breath pattern: `4-6` (in, out), `4-7-8` (in, hold, out) or `4-4-4-4` (in, hold, out,
    hold), in seconds; each part at most 60, and breathing in and out take some time."""
    from coach.compiler import Breath

    expected = f"expected {BREATH_FORMS}"
    if not isinstance(raw, str):
        raise SettingError(f"{expected} (in quotes in the profile), not {_shown(raw)}")
    parts = [part.strip() for part in raw.split("-")]
    numbers = [_number(part, suffixes=("s",)) for part in parts]
    if not 2 <= len(parts) <= 4 or any(n is None for n in numbers):
        raise SettingError(f"{expected}, not {_shown(raw)}")
    values = [float(n) for n in numbers if n is not None]
    if not all(_in_range(v, BREATH_PART_RANGE) for v in values):
        raise SettingError(f"{expected}, each part at most 60 seconds, not {_shown(raw)}")
    padded = values + [0.0] * (4 - len(values))
    if len(values) == 2:
        inhale, exhale, hold_in, hold_out = values[0], values[1], 0.0, 0.0
    else:
        inhale, hold_in, exhale, hold_out = padded
    if inhale <= 0 or exhale <= 0:
        raise SettingError(
            f"{expected}; breathing in and out must each take more than 0 seconds, "
            f"not {_shown(raw)}"
        )
    return Breath(inhale=inhale, exhale=exhale, hold_in=hold_in, hold_out=hold_out)


def format_breath(breath: Breath) -> str:
    """The pattern `read_breath` reads back: 4-6, 4-7-8 or 4-4-4-4."""
    parts = [breath.inhale, breath.exhale]
    if breath.hold_in or breath.hold_out:
        parts = [breath.inhale, breath.hold_in, breath.exhale]
        if breath.hold_out:
            parts.append(breath.hold_out)
    return "-".join(f"{p:g}" for p in parts)


def read_switch(raw: object) -> bool:
    """On or off: true/false (TOML), or yes/no, on/off, 1/0 in any case."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise SettingError(f"expected true or false (yes/no, on/off), got {_shown(raw)}")


def read_engine(raw: object) -> str:
    """A speech engine: festival, flite, pyttsx3, or a command template with {out} (checked
    when it is used: `coach.engines.make_engine`)."""
    text = raw.strip() if isinstance(raw, str) else ""
    if text in ("festival", "flite", "pyttsx3") or "{out}" in text:
        return text
    raise SettingError(
        "expected a speech engine: festival, flite, pyttsx3, or a command template with "
        f"{{out}}, like 'piper --model M --output_file {{out}}', not {_shown(raw)}"
    )


def read_cache_dir(raw: object) -> Path:
    """A directory; `~` and `~/clips` name the home directory and a directory in it."""
    expected = "expected a directory, like '~/.cache/coach'"
    if not isinstance(raw, str) or not raw.strip():
        raise SettingError(f"{expected}, not {_shown(raw)}")
    if "\0" in raw:  # no file name can hold one; the OS would refuse it with a ValueError
        raise SettingError(f"{expected}, without NUL characters, not {_shown(raw)}")
    return Path(raw.strip()).expanduser()


def unchanged(value: Any) -> Any:
    return value


