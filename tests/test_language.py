"""Other languages (issue 12): a routine's `language:` is the language of coach's own words and
of the voice that says them, on the real pyttsx3 engine (espeak-ng); engines that speak English
only are refused for it, and the default engine is one that speaks it."""

from __future__ import annotations

import io
import json
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from helpers import run_coach

from coach import library, session, status
from coach.cache import ClipCache
from coach.compiler import Overrides
from coach.engines import LanguageError, chosen_name, make_engine
from coach.pyttsx3_engine import Pyttsx3Engine

FIXTURES = Path(__file__).parent / "fixtures" / "language"
GERMAN = FIXTURES / "german.routine"
ENGLISH = FIXTURES / "english.routine"
RATE = 150  # the fixtures' speech rate (coach's default), for espeak-ng's own program too


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("language-clips")


@pytest.fixture(scope="module")
def german(cache) -> session.Session:
    return session.build(str(GERMAN), Overrides(lead_in=10.0), cache_dir=cache)


# Helpers -----------------------------------------------------------------------------------


def spoken(built: session.Session) -> list[str]:
    return [e.text for e in built.timeline.events if e.kind == "speech"]


def clip_of(built: session.Session, text: str) -> np.ndarray:
    """The audio of the first spoken `text` of the session, as the mix gets it."""
    event = next(e for e in built.timeline.events if e.kind == "speech" and e.text == text)
    return np.asarray(built.bank.samples(event), dtype=np.float64)


def espeak_ng(voice: str, text: str) -> np.ndarray:
    """What espeak-ng's own program says for `text` with `voice`, at the fixtures' rate."""
    done = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(RATE), "--stdout", text],
        capture_output=True,
        check=True,
    )
    with wave.open(io.BytesIO(done.stdout)) as read:
        frames = read.readframes(read.getnframes())
    return np.frombuffer(frames, "<i2").astype(np.float64) / 32768.0


def sounding(samples: np.ndarray) -> np.ndarray:
    """The part of a clip from its first to its last sound (over 5% of its peak)."""
    loud = np.flatnonzero(np.abs(samples) > 0.05 * np.max(np.abs(samples)))
    return samples[loud[0] : loud[-1] + 1]


def spectrum(samples: np.ndarray) -> np.ndarray:
    """The share of the clip's energy in each of 16 bands up to about 5.5 kHz: the colour of
    its vowels and consonants, whatever its level."""
    magnitude = np.abs(np.fft.rfft(sounding(samples), 8192))[:4096]
    bands = magnitude.reshape(16, 256).mean(axis=1)
    return bands / bands.sum()


def envelope(samples: np.ndarray, parts: int = 20) -> np.ndarray:
    """The clip's loudness in `parts` equal slices of its sounding part."""
    return np.array([np.sqrt(np.mean(p**2)) for p in np.array_split(sounding(samples), parts)])


def same_word(ours: np.ndarray, theirs: np.ndarray) -> bool:
    """Whether two clips are the same voice saying the same word: the same length within 10%,
    the same spectrum (measured apart: 0.1 for the same word, 0.8 to 1.0 for another word or
    voice) and the same loudness contour (correlation 0.95 against below 0.2)."""
    a, b = sounding(ours), sounding(theirs)
    lengths = abs(len(a) - len(b)) <= 0.1 * len(b)
    colour = float(np.abs(spectrum(ours) - spectrum(theirs)).sum()) < 0.3
    contour = float(np.corrcoef(envelope(ours), envelope(theirs))[0, 1]) > 0.8
    return lengths and colour and contour


# Coach's own words ------------------------------------------------------------------------


def test_a_german_routine_s_own_cues_are_coach_s_german_words(german) -> None:
    said = spoken(german)
    assert said[:6] == ["Geh in Position. Wir beginnen in 10 Sekunden.", "5", "4", "3", "2", "1"]
    assert said[6] == "Setz dich bequem hin."
    # The hold: halfway, then its countdown.
    assert said[7:11] == ["Die Hälfte ist geschafft.", "3", "2", "1"]
    assert said[11:17] == [
        "Einatmen.",
        "Ausatmen.",
        "Einatmen.",
        "Ausatmen.",
        "Ein letztes Mal. Einatmen.",
        "Ausatmen.",
    ]
    # The reps: the routine's own beat names on the first rep, counts as digits.
    assert said[17:21] == ["Hoch", "Und runter", "5", "10"]
    # The 40-second hold checks in with coach's own German check-ins, in turn.
    assert said[21:] == [
        "Wenn etwas wehtut, lass locker oder hör auf.",
        "Spür in deinen Körper. Der Druck bleibt angenehm, nie stechend.",
    ]
    assert german.timeline.language == "de"


def test_a_short_lead_in_invites_in_german(cache) -> None:
    built = session.build(str(GERMAN), Overrides(lead_in=5.0), cache_dir=cache)
    assert spoken(built)[:4] == ["Mach dich bereit.", "3", "2", "1"]


@pytest.mark.parametrize(
    ("name", "halfway", "breaths"),
    [
        (
            "french",
            "Vous êtes à la moitié.",
            ["Inspirez.", "Expirez.", "Une dernière fois. Inspirez."],
        ),
        ("spanish", "Ya vas por la mitad.", ["Inhala.", "Exhala.", "La última. Inhala."]),
    ],
)
def test_french_and_spanish_routines_get_their_own_words(
    cache, name: str, halfway: str, breaths: list[str]
) -> None:
    said = spoken(session.build(str(FIXTURES / f"{name}.routine"), cache_dir=cache))
    assert said[1:5] == [halfway, "3", "2", "1"]
    assert said[5:] == [breaths[0], breaths[1], breaths[0], breaths[1], breaths[2], breaths[1]]


def test_asked_where_it_is_coach_answers_in_german(german) -> None:
    timeline = german.timeline
    third = [e for e in timeline.events if e.kind == "click" and e.accent][2]
    assert status.where_text(timeline, third.start + 10) == (
        "Wir sind in Minute 1. Wiederholung 3 von 10."
    )


# The voice -------------------------------------------------------------------------------


def test_a_german_countdown_and_count_are_spoken_by_the_german_voice(german, cache) -> None:
    english = session.build(str(ENGLISH), cache_dir=cache)
    # "3" from the German routine is espeak-ng's German "drei", not the English "three".
    assert same_word(clip_of(german, "3"), espeak_ng("de", "drei"))
    assert not same_word(clip_of(german, "3"), clip_of(english, "3"))
    assert same_word(clip_of(english, "3"), espeak_ng("en", "three"))
    # ...and the count "5" is "fünf".
    assert same_word(clip_of(german, "5"), espeak_ng("de", "fünf"))
    assert not same_word(clip_of(german, "5"), espeak_ng("en", "five"))


@pytest.mark.parametrize(
    ("name", "voice", "three"), [("french", "fr", "trois"), ("spanish", "es", "tres")]
)
def test_french_and_spanish_countdowns_are_spoken_by_their_voices(
    cache, name: str, voice: str, three: str
) -> None:
    built = session.build(str(FIXTURES / f"{name}.routine"), cache_dir=cache)
    assert same_word(clip_of(built, "3"), espeak_ng(voice, three))
    assert not same_word(clip_of(built, "3"), espeak_ng("en", "three"))


def test_a_chosen_voice_wins_over_the_routine_s_language(cache) -> None:
    built = session.build(str(GERMAN), Overrides(voice="gmw/en-us"), cache_dir=cache)
    assert same_word(clip_of(built, "3"), espeak_ng("en-us", "three"))


def test_the_pyttsx3_engine_picks_espeak_ng_s_voice_for_each_language() -> None:
    engine = Pyttsx3Engine()
    found = {code: engine.resolve_voice(None, code) for code in ("en", "de", "fr", "es")}
    assert found == {"en": None, "de": "gmw/de", "fr": "roa/fr", "es": "roa/es"}


def test_a_command_engine_gets_the_language_in_its_template(cache) -> None:
    template = f"espeak-ng -v {{language}} -s {RATE} --stdin -w {{out}}"
    built = session.build(str(GERMAN), cache_dir=cache, engine=template)
    assert same_word(clip_of(built, "3"), espeak_ng("de", "drei"))


# Which engine ----------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["festival", "flite"])
@pytest.mark.parametrize("how", ["--engine", "COACH_ENGINE", "profile"])
def test_an_english_only_engine_chosen_for_a_german_routine_is_one_clear_error(
    tmp_path, engine: str, how: str
) -> None:
    profile = tmp_path / "config.toml"
    profile.write_text(f'engine = "{engine}"\n' if how == "profile" else "", encoding="utf-8")
    env = {"COACH_CONFIG": str(profile), "COACH_ENGINE": engine if how == "COACH_ENGINE" else ""}
    args = ["--engine", engine] if how == "--engine" else []
    out = tmp_path / "out.wav"
    done = run_coach("export", str(GERMAN), "-o", str(out), *args, env=env, cache=tmp_path / "c")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"Error: the {engine} engine")
    assert "English only" in lines[0] and "German (language: de)" in lines[0]
    assert "--engine pyttsx3" in lines[0]
    assert not out.exists()
    assert not list((tmp_path / "c").glob("*.wav"))  # nothing rendered


def test_the_library_says_so_with_a_language_error() -> None:
    for engine in ("festival", "flite"):
        with pytest.raises(LanguageError, match="speaks English only"):
            make_engine(engine, language="es")
    assert isinstance(make_engine("pyttsx3", language="es"), Pyttsx3Engine)


def test_the_default_engine_for_another_language_is_pyttsx3() -> None:
    # No COACH_ENGINE and no profile's engine (the suite's profile is empty).
    for code in ("de", "fr", "es"):
        assert chosen_name({}, code) == "pyttsx3"
        assert isinstance(make_engine(environ={}, language=code), Pyttsx3Engine)


def test_a_german_session_with_no_engine_chosen_speaks_through_pyttsx3(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.delenv("COACH_ENGINE")
    built = session.build(str(GERMAN), cache_dir=tmp_path)
    line = next(line for line in built.plan.speech_lines() if line.text == "3")
    expected = ClipCache(tmp_path, Pyttsx3Engine()).key(line)
    assert expected in {e.source for e in built.timeline.events if e.kind == "speech"}


# The built-in German routine and the files ----------------------------------------------


def test_the_german_built_in_routine_is_listed_checks_clean_and_is_german() -> None:
    assert "ruecken-an-der-wand" in library.builtin_names()
    done = run_coach("check", str(library.resolve("ruecken-an-der-wand")))
    assert (done.returncode, done.stderr) == (0, "ok: 1 file checked\n")
    listed = run_coach("list")
    assert "Rücken an der Wand" in listed.stdout


def test_the_german_built_in_routine_exports_in_german(tmp_path, cache) -> None:
    out = tmp_path / "ruecken.wav"
    done = run_coach("export", "ruecken-an-der-wand", "-o", str(out), cache=cache)
    assert done.returncode == 0, done.stderr
    shown = json.loads(run_coach("show", "ruecken-an-der-wand", "--json", cache=cache).stdout)
    assert shown["language"] == "de"
    with wave.open(str(out)) as read:
        assert read.getnframes() / read.getframerate() == pytest.approx(shown["duration"])
    tags = probe_tags(out)
    assert (tags["title"], tags["language"]) == ("Rücken an der Wand", "deu")


def probe_tags(path: Path) -> dict[str, str]:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format_tags", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)["format"]["tags"]


def test_an_mp3_of_a_german_routine_is_tagged_german(tmp_path, cache) -> None:
    out = tmp_path / "kurz.mp3"
    assert run_coach("export", str(GERMAN), "-o", str(out), cache=cache).returncode == 0
    assert probe_tags(out)["language"] == "deu"  # ID3 TLAN
    assert b"TLAN" in out.read_bytes()[:1024]


def test_the_first_chapter_is_named_in_the_routines_language():
    from coach.timeline import Chapter, Event, Timeline

    events = [Event(0, 10, "speech", "k", text="Hallo.")]
    timeline = Timeline("T", 22050, 100, [Chapter("Eins", 20, 100)], events, language="de")
    assert [c.name for c in timeline.file_chapters()] == ["Einleitung", "Eins"]
