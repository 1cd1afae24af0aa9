"""Profile: the listener's own pacing, kept in a TOML file and read with the options' parsers.

The settings it may hold, and how each value is read and checked, are coach.settings's one
table, which the command-line options use too: `rate = 130` here means `--rate 130`.

Precedence, highest first: command line, profile, routine settings, built-in defaults.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coach.atomic import real_target, remove_stale, write_atomic
from coach.diagnostics import CoachError
from coach.filekinds import file_kind
from coach.settings import SETTINGS as SETTINGS
from coach.settings import TEMPO_KEYS, overrides_from
from coach.settings import Setting as Setting
from coach.settings import SettingError as SettingError
from coach.settings import command_line_overrides as command_line_overrides

if TYPE_CHECKING:
    from coach.compiler import Overrides

CONFIG_ENV = "COACH_CONFIG"
FILE_NAME = "config.toml"
#: A profile is a few lines; anything bigger is not one (and is not read whole).
MAX_PROFILE_BYTES = 1024 * 1024

_HEADER = (
    "# coach profile: your own pacing for show, play and export.\n"
    "# Change it with `coach config set KEY VALUE`; an option on the command line beats it.\n"
    "\n"
)


class ProfileError(CoachError):
    """The profile cannot be read or written, or holds something coach cannot use."""


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
    return _read_document(path or profile_path())[0]


def _read_document(path: Path) -> tuple[dict[str, Any], str]:
    """The profile's TOML and its text; ({}, "") when there is no profile."""
    data = _read_bytes(path)
    if data is None:
        return {}, ""
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
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(_syntax_message(path, text, error)) from None
    except RecursionError:  # the parser recurses per nesting level: `a = [[[[...`
        raise ProfileError(
            f"your profile {path} is not valid TOML (nested too deeply); "
            "each line is KEY = VALUE. Fix it, or start over by deleting the file."
        ) from None
    return table, text


def _read_bytes(path: Path) -> bytes | None:
    """The profile's bytes; None when there is none. Only a regular file of at most
    MAX_PROFILE_BYTES is read: a FIFO, a device or a directory is refused without waiting
    on it (O_NONBLOCK), and a huge file without reading it."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise ProfileError(f"cannot read your profile {path}: {exc.strerror or exc}") from None
    try:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode):
            raise ProfileError(
                f"your profile {path} is {file_kind(found.st_mode)}, not a file; "
                f"set {CONFIG_ENV} to the path of a TOML file"
            )
        if found.st_size > MAX_PROFILE_BYTES:
            raise _too_big(path, found.st_size)
        chunks, size = [], 0
        while size <= MAX_PROFILE_BYTES and (chunk := os.read(fd, 65536)):
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_PROFILE_BYTES:  # it grew while being read
            raise _too_big(path, size)
        return b"".join(chunks)
    except OSError as exc:
        raise ProfileError(f"cannot read your profile {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _too_big(path: Path, size: int) -> ProfileError:
    return ProfileError(
        f"your profile {path} is {size / 1e6:.1f} MB, over the 1 MB a profile may be; "
        "it holds a few KEY = VALUE lines. Point COACH_CONFIG elsewhere, or delete it."
    )


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


def line_of(path: Path, key: str, text: str | None = None) -> str:
    """`path:LINE` for the line that sets `key` in the profile's `text` (read from `path`
    when not given), or just `path` when it cannot be found."""
    if text is None:
        try:
            text = _read_document(path)[1]
        except ProfileError:
            return str(path)
    pattern = re.compile(rf"""^\s*(["']?){re.escape(key)}\1\s*=""")
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return f"{path}:{number}"
    return str(path)


def load_profile(path: Path | None = None) -> dict[str, Any]:
    """The profile's settings, each read and checked like its command-line option.

    {} when there is no profile. ProfileError, naming the file, for a syntax error, an unknown
    key, a bad value, or more than one of tempo, slower and faster.
    """
    path = path or profile_path()
    document, text = _read_document(path)
    values: dict[str, Any] = {}
    for key, raw in document.items():
        if key not in SETTINGS:
            raise ProfileError(
                f"{line_of(path, key, text)}: unknown setting {key!r} in your profile"
                f"{_did_you_mean(key)} (remove it with: coach config unset {key})"
            )
        try:
            values[key] = SETTINGS[key].read(raw)
        except SettingError as error:
            raise ProfileError(
                f"{line_of(path, key, text)}: bad value for {key!r} in your profile: {error}. "
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
    from coach.engines import make_engine

    engine = make_engine()  # the chosen engine: COACH_ENGINE, the profile's, or the default
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
    """Replace the profile with `document`, atomically (coach.atomic): an error at any point
    leaves the old profile as it was. A symlinked profile is written through the link."""
    import tomli_w

    order = {key: number for number, key in enumerate(SETTINGS)}
    ordered = dict(sorted(document.items(), key=lambda item: order.get(item[0], len(order))))
    text = _HEADER + tomli_w.dumps(ordered)
    directory = real_target(path).parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocked = next((p for p in (directory, *directory.parents) if p.is_file()), None)
        reason = f"{blocked} is a file, not a directory" if blocked else exc.strerror or exc
        raise ProfileError(f"cannot write your profile {path}: {reason}") from None
    remove_stale(directory)
    try:
        write_atomic(path, text.encode("utf-8"))
    except OSError as exc:
        raise ProfileError(
            f"cannot write your profile {path}: {exc.strerror or exc}; it was left as it was"
        ) from None
