"""The pacing settings: one table, shared by the command-line options and the profile.

`SETTINGS` says for each key how a value is read (from command-line text or from a TOML
value), what it may be and how it is written back. The pacing options of `coach show`,
`play` and `export` and the profile (coach.profile) both read values through it, so
`rate = 130` in the profile and `--rate 130` mean the same and are checked against the
same bounds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from coach.readvalues import TEMPO_KEYS as TEMPO_KEYS
from coach.readvalues import SettingError as SettingError
from coach.readvalues import (
    format_breath,
    plain,
    read_breath,
    read_cache_dir,
    read_click_volume,
    read_engine,
    read_faster,
    read_gap,
    read_lead_in,
    read_loudness,
    read_pitch,
    read_rate,
    read_slower,
    read_switch,
    read_tempo,
    read_voice,
    read_volume,
    unchanged,
)

if TYPE_CHECKING:
    from coach.compiler import Overrides


@dataclass(frozen=True)
class Setting:
    """One pacing setting: `--KEY` on the command line and `KEY = ...` in the profile."""

    key: str
    metavar: str
    help: str
    read: Callable[[object], Any]  # command-line text or a TOML value -> value; SettingError
    write: Callable[[Any], Any]  # value -> what the profile stores


SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in (
        Setting(
            "rate",
            "WPM",
            "Speech rate in words per minute, 80 to 450, the same pace on every engine "
            "but a command, which keeps its own [default: profile, else routine, else 150].",
            read_rate,
            unchanged,
        ),
        Setting(
            "voice",
            "ID",
            "Voice id from `coach voices` for the engine in use, e.g. gmw/en-us (pyttsx3) "
            "or rms (flite) [default: profile, else routine, else the engine's].",
            read_voice,
            unchanged,
        ),
        Setting(
            "engine",
            "NAME|COMMAND",
            "Speech engine: festival, flite, pyttsx3 (espeak-ng on Linux), or a command that "
            "reads the text on stdin and writes the WAV file {out}, e.g. 'piper --model M "
            "--output_file {out}'; {language} in a command is the routine's language (en, de, "
            "fr, es), e.g. '--model voices/{language}.onnx'. festival and flite speak English "
            "only [env: COACH_ENGINE; default: profile, else festival's HTS voice on Linux "
            "when installed and the routine is in English, else pyttsx3].",
            read_engine,
            unchanged,
        ),
        Setting(
            "pitch",
            "PITCH",
            "Voice pitch, 0 (low) to 100 (high) [default: profile, else 50]; festival and "
            "command engines cannot change it.",
            read_pitch,
            unchanged,
        ),
        Setting(
            "volume",
            "PERCENT",
            "Speech volume in percent, 0 to 200 [default: profile, else 100].",
            read_volume,
            plain,
        ),
        Setting(
            "click-volume",
            "PERCENT",
            "Metronome volume in percent, 0 to 200 [default: profile, else 100].",
            read_click_volume,
            plain,
        ),
        Setting(
            "gap",
            "DURATION",
            "Silence after each spoken line, 0 to 10 s, e.g. 0.5s or 1 "
            "[default: profile, else routine, else 0.6s].",
            read_gap,
            plain,
        ),
        Setting(
            "tempo",
            "N",
            "Reps per minute for every repeat, 1 to 240, replacing the routine's tempos.",
            read_tempo,
            plain,
        ),
        Setting(
            "slower",
            "PERCENT",
            "Every repeat PERCENT slower, 1 to 90: --slower 20 turns 15 reps a minute into 12.",
            read_slower,
            plain,
        ),
        Setting(
            "faster",
            "PERCENT",
            "Every repeat PERCENT faster, 1 to 300: --faster 20 turns 15 reps a minute into 18.",
            read_faster,
            plain,
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
            "loudness",
            "LUFS",
            "Loudness of the session in LUFS, -30 to -14; -14 is louder, for a phone "
            "[default: profile, else -16].",
            read_loudness,
            plain,
        ),
        Setting(
            "lead-in",
            "SECONDS",
            "Seconds of spoken countdown before the first cue when playing, 0 to 60.",
            read_lead_in,
            plain,
        ),
        Setting(
            "listen",
            "true|false",
            "coach play listens for spoken commands (\"coach pause\", ...) on the "
            "default microphone [default: profile, else false].",
            read_switch,
            unchanged,
        ),
        Setting(
            "media-keys",
            "true|false",
            "coach play answers headphone and media buttons (MPRIS on the session D-Bus) "
            "[default: profile, else true].",
            read_switch,
            unchanged,
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
        loudness=get("loudness"),
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
