"""Voice commands, with real pocketsphinx on commands spoken by coach's own flite voice, a
real player on ALSA's capture configuration, and a microphone served from a file."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import decode_pcm, device_env, listening_conf, play_captured, run_coach

from coach import commands, session
from coach.engines import make_engine
from coach.listen import SPOT_RATE, Listener, Spotter
from coach.mixer import mix_all
from coach.plan import SpeechLine
from coach.voicelog import VoiceLog, voice_spans

QUIET = str(Path(__file__).parent / "fixtures" / "voice" / "quiet.routine")
GOOD = str(Path(__file__).parent / "fixtures" / "cli" / "good.routine")


def to_spot_rate(path: Path) -> np.ndarray:
    """A sound file as 16 kHz mono int16, resampled by ffmpeg."""
    return decode_pcm(path, SPOT_RATE)


@pytest.fixture(scope="module")
def spoken(tmp_path_factory) -> dict[str, np.ndarray]:
    return speak_commands(tmp_path_factory.mktemp("commands"))


def speak_commands(folder: Path) -> dict[str, np.ndarray]:
    """Each command's words, spoken by coach's flite engine in its rms voice (of the voices
    installed, the one whose "coach" pocketsphinx hears best), at 16 kHz."""
    engine = make_engine("flite")
    found = {}
    for phrase, name in commands.BY_PHRASE.items():
        path = folder / f"{name}.wav"
        engine.synthesize(SpeechLine(phrase, "rms", 150), path)
        found[name] = to_spot_rate(path)
    return found


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * SPOT_RATE), np.int16)


def words(samples: np.ndarray) -> tuple[float, float]:
    """Where the words of a spoken clip start and end, in seconds (its pads left out)."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > 0.05 * np.abs(samples).max())
    return loud[0] / SPOT_RATE, (loud[-1] + 1) / SPOT_RATE


@pytest.mark.parametrize("name", [n for n in commands.BY_PHRASE.values()])
def test_each_command_spoken_is_heard_once_at_its_time(spoken, name) -> None:
    audio = np.concatenate([silence(1.0), spoken[name], silence(1.0)])
    spotter = Spotter()
    found = []
    for i in range(0, len(audio), 1600):
        found += spotter.process(audio[i : i + 1600])
    assert [f[0] for f in found] == [name]
    _, start, end = found[0]
    first, last = words(spoken[name])
    # Found within the words (the search may settle before a last word's tail has faded).
    assert 1.0 + first - 0.3 <= start / SPOT_RATE < end / SPOT_RATE <= 1.0 + last + 0.3
    assert end / SPOT_RATE > 1.0 + last - 0.5


def feed(listener: Listener, audio: np.ndarray, began: float = 1000.0) -> None:
    """Hand `audio` to the listener in 0.1 s chunks stamped as if heard from `began` on,
    waiting for the recogniser between chunks so that none is dropped."""
    for i in range(0, len(audio), 1600):
        listener.hear(audio[i : i + 1600], began + i / SPOT_RATE)
        while listener._queue.qsize() > 20:
            time.sleep(0.005)


def test_a_command_said_while_coach_sounds_is_dropped(spoken) -> None:
    voice = VoiceLog()
    voice.add(1000.0 + 1.5, 1000.0 + 1.8)  # coach says something in the middle of it
    heard: list[str] = []
    with Listener(heard.append, voice) as listener:
        feed(listener, np.concatenate([silence(1.0), spoken["pause"], silence(1.0)]))
    assert heard == [] and [(h.command, h.ignored) for h in listener.heard] == [("pause", True)]


def test_a_command_said_in_coachs_silence_is_taken(spoken) -> None:
    voice = VoiceLog()
    voice.add(1000.0, 1000.5)  # coach spoke, and stopped 0.5 s before the words
    heard: list[str] = []
    with Listener(heard.append, voice) as listener:
        feed(listener, np.concatenate([silence(1.0), spoken["next"], silence(1.0)]))
    assert heard == ["next"]


def test_the_flagship_played_into_the_microphone_triggers_nothing(build) -> None:
    """wall-release, mixed as the device gets it, fed whole to the listener as its own
    microphone would hear it (times on the session's clock): no command is taken."""
    built = build("wall-release")
    timeline = built.timeline
    mixed = mix_all(timeline, built.bank)
    rate = timeline.sample_rate
    at_spot_rate = np.interp(
        np.arange(round(len(mixed) * SPOT_RATE / rate)) * (rate / SPOT_RATE),
        np.arange(len(mixed)),
        mixed,
    ).astype(np.int16)
    voice = VoiceLog(keep=math.inf)  # all of it logged up front, not as it plays
    for start, end in voice_spans(timeline):
        voice.add(1000.0 + start / rate, 1000.0 + end / rate)
    heard: list[str] = []
    with Listener(heard.append, voice) as listener:
        feed(listener, at_spot_rate)
    assert heard == [], [h for h in listener.heard if not h.ignored]


CHILD = r"""
import contextlib, json, pickle, sys, threading, time
from pathlib import Path
import numpy as np
from coach import session
from coach.live import LiveSession

job = pickle.load(open(sys.argv[1], "rb"))
built = session.build(job["routine"], cache_dir=Path(job["cache"]))
mic = np.fromfile(job["mic"], np.int16)
began = {}

@contextlib.contextmanager
def microphone(listener):
    stop = threading.Event()

    def serve():
        start = began["t"] = time.monotonic()
        for i in range(0, len(mic), 1600):
            # A chunk can be read once it has been heard to its end: pace like a device.
            wait = start + (i + 1600) / 16000 - time.monotonic()
            if stop.wait(max(0.0, wait)):
                return
            listener.hear(mic[i : i + 1600], start + i / 16000)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield
    stop.set()

timeline = built.timeline
live = LiveSession(
    timeline, built.bank, [(0, timeline.length)], lambda keys: "Playing", print, None,
    sys.stderr, speaker=built.speak, listen=True, microphone=microphone,
)
stopped = live.run()
t0 = began["t"]
player = live.player
print(json.dumps({
    "stopped": stopped,
    "latency": player._output.latency,
    "marks": [(m.what, m.position, m.at - t0) for m in player.feed.marks],
    "heard": [(h.command, h.start - t0, h.end - t0, h.ignored) for h in live.listener.heard],
    "answers": player.answers,
}))
"""

#: (seconds into the microphone, command): where the listener's words start. The quiet
#: routine leaves them room: clicks only in step One, a long pause in step Two.
SCHEDULE = [
    (3.0, "pause"),
    (6.0, "resume"),
    (9.5, "next"),
    (15.5, "where"),
    (20.5, "again"),
    (23.5, "quit"),
]
ECHO = 0.25  # the session's own sound in the room, about 12 dB under the speakers
VOICE_PEAK = 16000  # the listener's words at the microphone: -6 dBFS peaks


@pytest.fixture(scope="module")
def voice_run(spoken, tmp_path_factory) -> dict:
    return run_scenario(spoken, tmp_path_factory.mktemp("voice-run"))


def run_scenario(spoken: dict[str, np.ndarray], folder: Path) -> dict:
    """The quiet routine played in real time on the paced ALSA device, listening to a
    microphone file: SCHEDULE's commands over the session's own sound as room echo."""
    cache = folder / "cache"
    built = session.build(QUIET, cache_dir=cache)  # warm: the child builds at once
    mixed = mix_all(built.timeline, built.bank).astype(np.float64)
    rate = built.timeline.sample_rate
    length = round(30.0 * SPOT_RATE)
    echo = np.interp(np.arange(length) * (rate / SPOT_RATE), np.arange(len(mixed)), mixed, 0, 0)
    mic = ECHO * echo
    ends = {}
    for start, name in SCHEDULE:
        first = round(start * SPOT_RATE)
        said = spoken[name].astype(np.float64)
        said *= VOICE_PEAK / np.abs(said).max()
        mic[first : first + len(said)] += said
        ends[name] = start + words(said)[1]  # the last word's end
    path = folder / "mic.raw"
    np.clip(mic, -32768, 32767).astype(np.int16).tofile(path)
    job = {"routine": QUIET, "cache": str(cache), "mic": str(path)}
    played = play_captured(folder, CHILD, job, listening_conf(folder, None))
    report = played.report
    report["ends"] = ends
    report["audio"] = np.frombuffer(played.audio, "<i2")
    report["opens"] = played.opens
    return report


def effect(report: dict, name: str, what: str) -> float:
    """Seconds from the end of `name`'s words to the first `what` mark after them, as heard
    (the device sounds a buffer `latency` after the feed fills it)."""
    end = report["ends"][name]
    at = min(m[2] for m in report["marks"] if m[0] == what and m[2] > end - 0.5)
    return at + report["latency"] - end


def test_every_command_is_heard_once_at_its_time_and_none_is_dropped(voice_run) -> None:
    heard = voice_run["heard"]
    assert [h[0] for h in heard] == [name for _, name in SCHEDULE]
    for (said, name), (_, start, end, ignored) in zip(SCHEDULE, heard):
        assert said - 0.1 <= start < end <= voice_run["ends"][name] + 0.3  # within the words
        assert not ignored


@pytest.mark.parametrize(
    "name, what",
    [("pause", "fade-out"), ("resume", "fade-in"), ("next", "jump"), ("again", "say")]
    + [("quit", "end")],
)
def test_a_command_takes_effect_within_a_second_of_its_last_word(voice_run, name, what):
    assert 0 < effect(voice_run, name, what) <= 1.0


@pytest.mark.parametrize("name", [name for _, name in SCHEDULE])
def test_every_command_is_confirmed_by_a_short_sound_within_a_second(voice_run, name):
    assert 0 < effect(voice_run, name, "cue") <= 1.0


def test_where_am_i_answers_with_the_step_in_the_stream(voice_run) -> None:
    assert voice_run["answers"] == ["Step 2 of 2, Two."]
    assert 0 < effect(voice_run, "where", "say") <= 2.0  # the words are made first
    assert voice_run["opens"] == 1  # said in the one stream, not on a device of its own


def test_stop_ends_the_session_early_and_its_confirmation_is_heard_out(voice_run) -> None:
    from coach import sounds

    assert voice_run["stopped"]
    blip = sounds.confirmation(22050).astype(np.float64)
    tail = voice_run["audio"][-22050:].astype(np.float64)  # the last second played
    best = max(
        float(np.dot(tail[i : i + len(blip)], blip))
        / (np.linalg.norm(tail[i : i + len(blip)]) * np.linalg.norm(blip) + 1e-9)
        for i in range(0, len(tail) - len(blip))
    )
    assert best > 0.99  # the whole blip, alone: heard out, not cut by the stop


def test_listening_through_alsa_hears_a_command_from_the_microphone(spoken, tmp_path) -> None:
    """`coach play --listen` reads the default input device: ALSA's file plugin serves a
    microphone file that says "coach stop" (all at once: the plugin is not paced)."""
    mic = tmp_path / "mic.raw"
    np.concatenate([silence(1.0), spoken["quit"], silence(1.0)]).tofile(mic)
    capture, opens = tmp_path / "capture.raw", tmp_path / "opens.txt"
    env = device_env(capture, opens, listening_conf(tmp_path, mic))
    began = time.monotonic()
    result = run_coach("play", QUIET, "--listen", env=env, cache=tmp_path / "c", timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-2].startswith("Stopped ")  # then the summary
    assert 'Say "coach pause"' in result.stderr
    assert time.monotonic() - began < 20  # the routine lasts 33 s


def test_without_a_microphone_it_plays_on_and_says_why_in_one_line(tmp_path) -> None:
    capture, opens = tmp_path / "capture.raw", tmp_path / "opens.txt"
    env = device_env(capture, opens, listening_conf(tmp_path, None, speed=20))
    result = run_coach("play", GOOD, "--listen", env=env, cache=tmp_path / "c")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert [line for line in lines if "voice commands" in line] == [
        "Not listening for voice commands: no input device (microphone) found."
    ]
    assert lines[-1].startswith("Done. ") and "Traceback" not in result.stderr


def test_the_profile_key_listen_turns_listening_on(tmp_path) -> None:
    profile = tmp_path / "profile.toml"
    capture, opens = tmp_path / "capture.raw", tmp_path / "opens.txt"
    env = {**device_env(capture, opens, listening_conf(tmp_path, None, speed=20))}
    env["COACH_CONFIG"] = str(profile)
    assert run_coach("config", "set", "listen", "yes", env=env).returncode == 0
    assert "listen = true" in profile.read_text()
    on = run_coach("play", GOOD, env=env, cache=tmp_path / "c")
    off = run_coach("play", GOOD, "--no-listen", env=env, cache=tmp_path / "c")
    assert "Not listening for voice commands" in on.stderr
    assert "voice commands" not in off.stderr and off.returncode == 0


def test_without_a_session_bus_it_plays_on_and_says_why_in_one_line(tmp_path) -> None:
    capture, opens = tmp_path / "capture.raw", tmp_path / "opens.txt"
    env = device_env(capture, opens, listening_conf(tmp_path, None, speed=20))
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    result = run_coach("play", GOOD, env=env, cache=tmp_path / "c")
    assert result.returncode == 0
    assert [line for line in result.stderr.splitlines() if "Media buttons" in line] == [
        "Media buttons are off: no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)."
    ]
    quiet = run_coach("play", GOOD, "--no-media-keys", env=env, cache=tmp_path / "c")
    assert "Media buttons" not in quiet.stderr and quiet.returncode == 0


def test_a_listen_value_that_is_not_on_or_off_names_the_profile_key(tmp_path) -> None:
    profile = tmp_path / "profile.toml"
    result = run_coach("config", "set", "listen", "maybe", env={"COACH_CONFIG": str(profile)})
    assert result.returncode != 0 and "true or false" in result.stderr
    assert not profile.exists()
