"""Profile: the listener's own pacing, kept in a TOML file and read with the options' parsers.

`SETTINGS` is the one table of pacing settings: for each key it says how a value is read
(from command-line text or from a TOML value), what it may be and how it is written back.
The pacing options of `coach show`, `play` and `export` and the profile both read values
through it, so `rate = 130` in the profile and `--rate 130` mean the same and are checked
against the same bounds.

Precedence, highest first: command line, profile, routine settings, built-in defaults.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coach import units
from coach.diagnostics import CoachError

if TYPE_CHECKING:
    from coach.compiler import Breath, Overrides

CONFIG_ENV = "COACH_CONFIG"
FILE_NAME = "config.toml"

RATE_RANGE = (80, 450)  # words per minute
PITCH_RANGE = (0, 100)
VOLUME_RANGE = (0.0, 200.0)  # percent, for speech and for the metronome
GAP_RANGE = (0.0, 10.0)  # seconds
TEMPO_RANGE = (1.0, 240.0)  # reps per minute
SLOWER_RANGE = (1.0, 90.0)  # percent
FASTER_RANGE = (1.0, 300.0)  # percent
BREATH_PART_RANGE = (0.0, 60.0)  # seconds, each part of a --breath pattern
LEAD_IN_RANGE = (0.0, 60.0)  # seconds

#: tempo, slower and faster are one setting written three ways: one of them at a time.
TEMPO_KEYS = ("tempo", "slower", "faster")

BREATH_FORMS = "IN-OUT, IN-HOLD-OUT or IN-HOLD-OUT-HOLD in seconds, like 4-6, 4-7-8 or 4-4-4-4"

_HEADER = (
    "# coach profile: your own pacing for show, play and export.\n"
    "# Change it with `coach config set KEY VALUE`; an option on the command line beats it.\n"
    "\n"
)


class ProfileError(CoachError):
    """The profile cannot be read or written, or holds something coach cannot use."""


class SettingError(ValueError):
    """A value a setting does not accept; the message says what it accepts."""


@dataclass(frozen=True)
class Setting:
    """One pacing setting: `--KEY` on the command line and `KEY = ...` in the profile."""

    key: str
    metavar: str
    help: str
    read: Callable[[object], Any]  # command-line text or a TOML value -> value; SettingError
    write: Callable[[Any], Any]  # value -> what the profile stores


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


def _plain(value: float) -> int | float:
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


def read_cache_dir(raw: object) -> Path:
    if not isinstance(raw, str) or not raw.strip():
        raise SettingError(f"expected a directory, like '~/.cache/coach', not {_shown(raw)}")
    return Path(raw.strip()).expanduser()


def _same(value: Any) -> Any:
    return value


SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in (
        Setting(
            "rate",
            "WPM",
            "Speech rate in words per minute, 80 to 450 "
            "[default: profile, else routine, else 150].",
            read_rate,
            _same,
        ),
        Setting(
            "voice",
            "ID",
            "Voice id from `coach voices`, e.g. gmw/en-us "
            "[default: profile, else routine, else the engine's].",
            read_voice,
            _same,
        ),
        Setting(
            "pitch",
            "0..100",
            "Voice pitch, 0 (low) to 100 (high) [default: profile, else 50].",
            read_pitch,
            _same,
        ),
        Setting(
            "volume",
            "PERCENT",
            "Speech volume in percent, 0 to 200 [default: profile, else 100].",
            read_volume,
            _plain,
        ),
        Setting(
            "click-volume",
            "PERCENT",
            "Metronome volume in percent, 0 to 200 [default: profile, else 100].",
            read_click_volume,
            _plain,
        ),
        Setting(
            "gap",
            "DURATION",
            "Silence after each spoken line, 0 to 10 s, e.g. 0.5s or 1 "
            "[default: profile, else routine, else 0.6s].",
            read_gap,
            _plain,
        ),
        Setting(
            "tempo",
            "N",
            "Reps per minute for every repeat, 1 to 240, replacing the routine's tempos.",
            read_tempo,
            _plain,
        ),
        Setting(
            "slower",
            "PERCENT",
            "Every repeat PERCENT slower, 1 to 90: --slower 20 turns 15 reps a minute into 12.",
            read_slower,
            _plain,
        ),
        Setting(
            "faster",
            "PERCENT",
            "Every repeat PERCENT faster, 1 to 300: --faster 20 turns 15 reps a minute into 18.",
            read_faster,
            _plain,
        ),
        Setting(
            "breath",
            "PATTERN",
            "Pace every breathe cycle, in seconds: IN-OUT, IN-HOLD-OUT or IN-HOLD-OUT-HOLD, "
            "e.g. 4-6 or 4-7-8 [default: profile, else the routine's].",
            read_breath,
            format_breath,
        ),
        Setting(
            "lead-in",
            "SECONDS",
            "Seconds of spoken countdown before the first cue when playing, 0 to 60.",
            read_lead_in,
            _plain,
        ),
        Setting(
            "cache-dir",
            "DIR",
            "Where rendered speech clips are kept [env: COACH_CACHE_DIR].",
            read_cache_dir,
            str,
        ),
    )
}


def setting(key: str) -> Setting:
    """The setting named `key`; ProfileError with a did-you-mean for an unknown key."""
    found = SETTINGS.get(key)
    if found is None:
        raise ProfileError(f"unknown setting {key!r}{_did_you_mean(key)}")
    return found


def _did_you_mean(key: str) -> str:
    close = difflib.get_close_matches(key.lower().replace("_", "-"), list(SETTINGS), n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; the settings are {', '.join(SETTINGS)}"


def overrides_from(values: Mapping[str, Any]) -> Overrides:
    """Overrides from read values keyed like SETTINGS (missing or None means not set)."""
    from coach.compiler import Overrides

    def get(key: str) -> Any:
        return values.get(key)

    scale = None
    if get("slower") is not None:
        scale = 1.0 - get("slower") / 100.0
    elif get("faster") is not None:
        scale = 1.0 + get("faster") / 100.0
    return Overrides(
        period=60.0 / get("tempo") if get("tempo") is not None else None,
        rate=get("rate"),
        voice=get("voice"),
        gap=get("gap"),
        pitch=get("pitch"),
        volume=get("volume") / 100.0 if get("volume") is not None else None,
        click_volume=get("click-volume") / 100.0 if get("click-volume") is not None else None,
        tempo_scale=scale,
        breath=get("breath"),
        lead_in=get("lead-in"),
    )


def command_line_overrides(values: Mapping[str, Any]) -> Overrides:
    """Overrides from the pacing options' read values, keyed like SETTINGS (None: not given).

    SettingError when more than one of tempo, slower and faster is given: they are one
    setting.
    """
    given = [f"--{key}" for key in TEMPO_KEYS if values.get(key) is not None]
    if len(given) > 1:
        raise SettingError(
            f"{' and '.join(given)} cannot be used together: --tempo sets the reps per minute, "
            "--slower and --faster change the routine's own tempos; choose one"
        )
    return overrides_from(values)


# ---------------------------------------------------------------------------------------------
# the profile file


def profile_path(environ: Mapping[str, str] | None = None) -> Path:
    """$COACH_CONFIG if set, else config.toml in the platform's user config directory
    (~/.config/coach on Linux, ~/Library/Application Support/coach on macOS,
    %LOCALAPPDATA%\\coach on Windows)."""
    env = os.environ if environ is None else environ
    configured = env.get(CONFIG_ENV, "").strip()
    if configured:
        return Path(configured).expanduser().absolute()
    import platformdirs

    return Path(platformdirs.user_config_dir("coach", appauthor=False)) / FILE_NAME


def read_document(path: Path | None = None) -> dict[str, Any]:
    """The profile's TOML as written ({} when there is no profile); only its syntax is checked."""
    path = path or profile_path()
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as exc:
        raise ProfileError(f"cannot read your profile {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProfileError(
            f"{path}: your profile is not UTF-8 text (bad byte at offset {exc.start}); "
            f"save it as UTF-8, or start over by deleting it"
        ) from None
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]
    try:
        table: dict[str, Any] = tomllib.loads(text)
        return table
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(_syntax_message(path, text, error)) from None


def _syntax_message(path: Path, text: str, error: Exception) -> str:
    message = str(error)
    where = re.search(r"\s*\(at line (\d+), column (\d+)\)\s*$", message)
    line = getattr(error, "lineno", None) or (int(where[1]) if where else None)
    column = getattr(error, "colno", None) or (int(where[2]) if where else None)
    what = getattr(error, "msg", None) or (message[: where.start()] if where else message)
    if line is None:  # "(at end of document)"
        what = re.sub(r"\s*\(at end of document\)\s*$", "", what)
        line = text.count("\n") + 1
        column = len(text) - text.rfind("\n")
    return (
        f"{path}:{line}:{column}: your profile is not valid TOML: {what}. "
        f'Each line is KEY = VALUE, with text in quotes: rate = 130, voice = "gmw/en-us", '
        f'breath = "4-6". Fix that line, or start over by deleting the file.'
    )


def line_of(path: Path, key: str) -> str:
    """`path:LINE` for the line that sets `key`, or just `path` when it cannot be found."""
    with contextlib.suppress(OSError, UnicodeDecodeError):
        pattern = re.compile(rf"""^\s*(["']?){re.escape(key)}\1\s*=""")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.match(line):
                return f"{path}:{number}"
    return str(path)


def load_profile(path: Path | None = None) -> dict[str, Any]:
    """The profile's settings, each read and checked like its command-line option.

    {} when there is no profile. ProfileError, naming the file, for a syntax error, an unknown
    key, a bad value, or more than one of tempo, slower and faster.
    """
    path = path or profile_path()
    document = read_document(path)
    values: dict[str, Any] = {}
    for key, raw in document.items():
        if key not in SETTINGS:
            raise ProfileError(
                f"{line_of(path, key)}: unknown setting {key!r} in your profile"
                f"{_did_you_mean(key)} (remove it with: coach config unset {key})"
            )
        try:
            values[key] = SETTINGS[key].read(raw)
        except SettingError as error:
            raise ProfileError(
                f"{line_of(path, key)}: bad value for {key!r} in your profile: {error}. "
                f"Fix it with: coach config set {key} VALUE"
            ) from None
    chosen = [key for key in TEMPO_KEYS if key in values]
    if len(chosen) > 1:
        raise ProfileError(
            f"{path}: your profile sets {' and '.join(chosen)}, which are one setting; "
            f"keep one, e.g.: coach config unset {chosen[-1]}"
        )
    return values


def profile_overrides(path: Path | None = None) -> Overrides:
    """The profile as overrides for the compiler (see `Overrides.over` for the merge)."""
    return overrides_from(load_profile(path))


def with_profile(
    command_line: Overrides, live: bool, path: Path | None = None
) -> tuple[Overrides, Path | None]:
    """The command line's overrides over the profile's, and the profile's cache directory.

    tempo, slower and faster are one setting: any of them on the command line replaces the
    profile's. The profile's lead-in counts only for live sessions (`live`). A profile voice
    the speech engine lacks is a ProfileError naming the profile's line (a missing engine is
    its own SpeechError).
    """
    from dataclasses import replace

    path = path or profile_path()
    values = load_profile(path)
    lower = overrides_from(values)
    if command_line.period is not None or command_line.tempo_scale is not None:
        lower = replace(lower, period=None, tempo_scale=None)
    if not live:
        lower = replace(lower, lead_in=None)
    if command_line.voice is None and lower.voice is not None:
        _check_voice(lower.voice, path)
    return command_line.over(lower), values.get("cache-dir")


def _check_voice(voice: str, path: Path) -> None:
    """ProfileError, naming the profile's line, when the speech engine has no `voice`."""
    from coach.diagnostics import SpeechError
    from coach.speech import Pyttsx3Engine

    engine = Pyttsx3Engine()
    engine.voices()  # a missing engine is its own error, not the profile's
    try:
        engine.check_voice(voice)
    except SpeechError as error:
        raise ProfileError(
            f"{line_of(path, 'voice')}: the voice in your profile: {error}; "
            "fix it with: coach config set voice ID"
        ) from None


def set_value(key: str, value: object, path: Path | None = None) -> list[str]:
    """Set `key` in the profile, keeping every other key; returns the keys this replaced
    (setting one of tempo, slower and faster removes the others)."""
    found = setting(key)
    try:
        read = found.read(value)
    except SettingError as error:
        raise ProfileError(f"bad value for {key!r}: {error}") from None
    path = path or profile_path()
    document = read_document(path)
    replaced = []
    if key in TEMPO_KEYS:
        replaced = [other for other in TEMPO_KEYS if other != key and other in document]
        for other in replaced:
            del document[other]
    document[key] = found.write(read)
    _write(path, document)
    return replaced


def unset_value(key: str, path: Path | None = None) -> bool:
    """Remove `key` from the profile; False when it was not set. An unknown key that is in the
    file can be removed too (that is the fix for it)."""
    path = path or profile_path()
    document = read_document(path)
    if key not in document:
        setting(key)  # an unknown key that is not there either: say so, with a did-you-mean
        return False
    del document[key]
    _write(path, document)
    return True


def dumps(values: Mapping[str, Any]) -> str:
    """Read values (as `load_profile` returns them) as the TOML lines the profile holds."""
    import tomli_w

    return tomli_w.dumps({key: SETTINGS[key].write(value) for key, value in values.items()})


def _write(path: Path, document: Mapping[str, Any]) -> None:
    """Replace the profile with `document`, atomically: a temporary file in the same directory
    is written, flushed to disk and renamed over the profile, so an error at any point leaves
    the old profile as it was. A symlinked profile is written through the link."""
    import tomli_w

    order = {key: number for number, key in enumerate(SETTINGS)}
    ordered = dict(sorted(document.items(), key=lambda item: order.get(item[0], len(order))))
    text = _HEADER + tomli_w.dumps(ordered)
    target = Path(os.path.realpath(path))
    directory = target.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        blocked = next((p for p in (directory, *directory.parents) if p.is_file()), None)
        reason = f"{blocked} is a file, not a directory" if blocked else exc.strerror or exc
        raise ProfileError(f"cannot write your profile {path}: {reason}") from None
    temp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, _mode(target))
        os.replace(temp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        if isinstance(exc, OSError):
            raise ProfileError(
                f"cannot write your profile {path}: {exc.strerror or exc}; it was left as it was"
            ) from None
        raise


def _mode(target: Path) -> int:
    """The existing profile's permissions, else those of a new file (0666 less the umask)."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask
