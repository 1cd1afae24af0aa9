"""Units: read the durations, tempos, speech rates and counts written in routine files."""

from __future__ import annotations

import difflib
import math
import re

_NUMBER = r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+"
_DURATION_PART = re.compile(rf"(?P<number>{_NUMBER})\s*(?P<unit>[A-Za-z]+)?")
_LEADING_NUMBER = re.compile(_NUMBER)
_MAX_DIGITS = 15

# unit name -> (rank, seconds); the parts of one duration must go from high rank to low.
_DURATION_UNITS: dict[str, tuple[int, float]] = {
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), (3, 3600.0)),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), (2, 60.0)),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), (1, 1.0)),
}
_TEMPO_UNITS: dict[str, float] = {
    **dict.fromkeys(("m", "min", "mins", "minute"), 60.0),
    **dict.fromkeys(("s", "sec", "secs", "second"), 1.0),
}
_RATE_UNITS = ("wpm", "words per minute", "words/min", "words a minute")

DURATION_HINT = "write a duration like '5s', '5 sec', '2 min', '1m30s' or '1.5 min'"
TEMPO_HINT = "write a tempo like '15 per minute', '15/min' or 'every 4s'"
RATE_HINT = "write a speech rate in words per minute, like '140 wpm'"


class UnitError(ValueError):
    """A value that cannot be read; `offset` is the 0-based index of the bad part."""

    def __init__(self, message: str, offset: int = 0, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.hint = hint

    def shifted(self, by: int) -> UnitError:
        """The same error with its offset moved right by `by` characters."""
        return UnitError(self.message, self.offset + by, self.hint)


def parse_duration(text: str) -> float:
    """Seconds in `5s`, `5 sec`, `2 minutes`, `1m30s`, `1.5 min`, `1h 30min`; a bare `0` is 0."""
    pos = _skip_space(text, 0)
    if pos == len(text):
        raise UnitError("missing duration", pos, DURATION_HINT)
    total = 0.0
    last: tuple[int, str] | None = None  # (rank, unit) of the previous part
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if match is None:
            raise _not_a_duration(text, pos, first=last is None)
        number, unit = match["number"], match["unit"]
        if unit is None:
            if last is None and float(number) == 0 and not text[match.end() :].strip():
                return 0.0
            raise UnitError(f"missing unit after '{number}'", match.end("number"), DURATION_HINT)
        rank, factor = _duration_unit(unit, match.start("unit"))
        if last is not None and rank >= last[0]:
            raise UnitError(
                f"'{unit}' cannot follow '{last[1]}' in one duration",
                match.start("unit"),
                "write the parts from hours down to seconds, each once, as in '1m30s'",
            )
        total += _finite(float(number), match.start()) * factor
        last = (rank, unit)
        pos = _skip_space(text, match.end())
    return _finite(total, 0)


def parse_tempo(text: str) -> float:
    """The period of one rep in seconds: `15 per minute`, `15/min` and `every 4s` all give 4.0."""
    start = _skip_space(text, 0)
    body = text[start:].rstrip()
    if not body:
        raise UnitError("missing tempo", start, TEMPO_HINT)
    every = re.match(r"every\b\s*", body, re.IGNORECASE)
    if every:
        return _tempo_every(text, start + every.end())
    number = _LEADING_NUMBER.match(body)
    if number is None:
        raise UnitError(f"expected a tempo, found '{_excerpt(body)}'", start, TEMPO_HINT)
    reps = _finite(float(number.group()), start)
    period = _tempo_unit_seconds(text, start + number.end(), number.group())
    if reps == 0:
        raise UnitError("a tempo must be more than 0 reps per minute", start, TEMPO_HINT)
    return period / reps


def parse_rate(text: str) -> int:
    """Words per minute in `140 wpm`, `140 words per minute` or a bare `140`."""
    start = _skip_space(text, 0)
    body = text[start:].rstrip()
    if not body:
        raise UnitError("missing speech rate", start, RATE_HINT)
    match = re.match(r"[0-9]+", body)
    if match is None:
        raise UnitError(f"expected a speech rate, found '{_excerpt(body)}'", start, RATE_HINT)
    if re.match(r"\.[0-9]", body[match.end() :]):
        raise UnitError("a speech rate must be a whole number of words per minute", start)
    rest_at = _skip_space(body, match.end())
    unit = body[rest_at:]
    if unit and " ".join(unit.lower().split()) not in _RATE_UNITS:
        raise UnitError(f"unknown rate unit '{_excerpt(unit)}'", start + rest_at, RATE_HINT)
    return _whole(match.group(), start)


def parse_count(text: str) -> int:
    """A whole number written in digits: `25`."""
    start = _skip_space(text, 0)
    body = text[start:].rstrip()
    if not body:
        raise UnitError("missing number", start, "write a whole number, like 5")
    if not re.fullmatch(r"[0-9]+", body):
        raise UnitError(
            f"expected a whole number, found '{_excerpt(body)}'",
            start,
            "write a whole number in digits, like 5",
        )
    return _whole(body, start)


def format_duration(seconds: float) -> str:
    """A short human form: `45s`, `1m 30s`, `2h`, `1h 5m`."""
    if not math.isfinite(seconds) or seconds < 60:
        return f"{seconds:g}s"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{int(hours)}h"] if hours else []
    if minutes:
        parts.append(f"{int(minutes)}m")
    if round(secs, 3):
        parts.append(f"{round(secs, 3):g}s")
    return " ".join(parts)


def format_length(seconds: float) -> str:
    """A session's length as `m:ss`, or `h:mm:ss` from an hour on, to the nearest second
    (half a second rounds up). Every length coach prints comes from here (list, show,
    export, play, the status line), so one session never shows two lengths."""
    return _clock(math.floor(seconds + 0.5) if math.isfinite(seconds) else 0)


def format_position(seconds: float) -> str:
    """A place in a session in the same form, counted in whole seconds gone by (rounded
    down, as a clock counts: 0:59 until the minute is full)."""
    return _clock(math.floor(seconds) if math.isfinite(seconds) else 0)


def _clock(whole: int) -> str:
    hours, rest = divmod(max(0, whole), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_tempo(period: float) -> str:
    """`15 per minute` for a period of 4 seconds."""
    if period <= 0:
        return "an impossibly fast tempo"
    return f"{round(60.0 / period, 2):g} per minute"


def _tempo_every(text: str, at: int) -> float:
    if not text[at:].strip():
        raise UnitError("missing duration after 'every'", at, TEMPO_HINT)
    try:
        period = parse_duration(text[at:])
    except UnitError as error:
        raise error.shifted(at) from None
    if period <= 0:
        raise UnitError("a tempo of one rep every 0 seconds is impossible", at, TEMPO_HINT)
    return period


def _tempo_unit_seconds(text: str, at: int, number: str) -> float:
    """Seconds in the unit after a rep count: `per minute`, `/min`, `per second`."""
    at = _skip_space(text, at)
    rest = text[at:].rstrip()
    per = re.match(r"(?:per\b|/)\s*", rest, re.IGNORECASE)
    if per is None:
        found = f", found '{_excerpt(rest)}'" if rest else ""
        raise UnitError(f"expected 'per minute' after '{number}'{found}", at, TEMPO_HINT)
    unit = rest[per.end() :]
    unit_at = at + per.end()
    if not unit:
        raise UnitError("missing unit after 'per'", unit_at, TEMPO_HINT)
    seconds = _TEMPO_UNITS.get(unit.lower())
    if seconds is None:
        raise UnitError(f"unknown tempo unit '{_excerpt(unit)}'", unit_at, TEMPO_HINT)
    return seconds


def _duration_unit(unit: str, offset: int) -> tuple[int, float]:
    known = _DURATION_UNITS.get(unit.lower())
    if known is not None:
        return known
    close = difflib.get_close_matches(unit.lower(), list(_DURATION_UNITS), n=1, cutoff=0.75)
    hint = f"did you mean '{close[0]}'?" if close and len(unit) > 2 else DURATION_HINT
    raise UnitError(f"unknown unit '{_excerpt(unit)}'", offset, hint)


def _not_a_duration(text: str, pos: int, first: bool) -> UnitError:
    rest = text[pos:].rstrip()
    if first and rest.startswith("-"):
        return UnitError("a duration cannot be negative", pos, DURATION_HINT)
    if first:
        return UnitError(f"expected a duration, found '{_excerpt(rest)}'", pos, DURATION_HINT)
    return UnitError(f"unexpected '{_excerpt(rest)}' after the duration", pos)


def _whole(digits: str, offset: int) -> int:
    if len(digits.lstrip("0")) > _MAX_DIGITS:
        raise UnitError(f"number is too large (more than {_MAX_DIGITS} digits)", offset)
    return int(digits)


def _finite(value: float, offset: int) -> float:
    if not math.isfinite(value):
        raise UnitError("number is too large", offset)
    return value


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _excerpt(text: str, limit: int = 24) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."
