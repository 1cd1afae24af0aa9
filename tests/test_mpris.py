"""Media buttons: coach as an MPRIS player on a private session bus, pressed with dbus-send.

Each test module run starts its own dbus-daemon. Players that only need to be looked at
stay in this process (they never open a device); players that must really play run in a
child process through the captured ALSA device, paced in real time.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import re
import select
import shutil
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import RATE, fake_speech
from helpers import FIXTURES, ROOT, device_env, paced_conf
from jeepney import DBusAddress, MatchRule, MessageType, new_method_call
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection

from coach.commands import BY_MEDIA
from coach.mixer import SourceBank
from coach.mpris import BUS_NAME, MediaButtonsUnavailable, MediaPlayer, track_at
from coach.player import Player
from coach.timeline import Chapter, Event, Timeline

pytestmark = pytest.mark.skipif(
    shutil.which("dbus-daemon") is None or shutil.which("dbus-send") is None,
    reason="needs dbus-daemon and dbus-send",
)

PATH = "/org/mpris/MediaPlayer2"
ROOT_INTERFACE = "org.mpris.MediaPlayer2"
PLAYER = "org.mpris.MediaPlayer2.Player"
PROPERTIES = "org.freedesktop.DBus.Properties"
SECOND = 1_000_000  # microseconds, MPRIS's unit of time

# A routine of three 20 s steps, each opening with a spoken line.
STEPS = ("Warm up", "Reps", "Breathe out")
TITLE = "Morning mobility"


def routine(first_step_at: int = 0) -> tuple[Timeline, dict[str, np.ndarray]]:
    speech = {name: fake_speech(1.0, seed) for seed, name in enumerate(STEPS)}
    starts = [first_step_at + n * 20 * RATE for n in range(len(STEPS))]
    chapters = [Chapter(name, at, at + 20 * RATE) for name, at in zip(STEPS, starts)]
    events = [
        Event(at + RATE // 2, RATE, "speech", name, n, name)
        for n, (name, at) in enumerate(zip(STEPS, starts))
    ]
    if first_step_at:
        speech["hello"] = fake_speech(1.0, 5)
        events.insert(0, Event(RATE // 4, RATE, "speech", "hello", None, "Hello."))
    return Timeline(TITLE, RATE, chapters[-1].end, chapters, events), speech


def idle_player(timeline: Timeline, start: int = 0) -> Player:
    """A player that is never run: it sits at `start`, as before its first sound."""
    return Player(timeline, SourceBank(RATE), ranges=[(start, timeline.length)])


@pytest.fixture(scope="module")
def bus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private session bus for this module: its address."""
    path = tmp_path_factory.mktemp("bus") / "socket"
    daemon = subprocess.Popen(
        [
            "dbus-daemon",
            "--session",
            "--nofork",
            "--print-address=1",
            f"--address=unix:path={path}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert daemon.stdout is not None
    address = daemon.stdout.readline().strip()
    assert address.startswith("unix:"), "dbus-daemon gave no address"
    yield address
    daemon.terminate()
    daemon.wait(5)


@pytest.fixture
def on_bus(bus: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """This process's session bus is the private one."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus)
    return bus


@pytest.fixture
def client(bus: str) -> Iterator[DBusConnection]:
    with open_dbus_connection(bus=bus) as connection:
        yield connection


def call(connection: DBusConnection, name: str, interface: str, method: str, *args: Any) -> Any:
    """Call a method the way any D-Bus client does; the reply's body."""
    signature = "s" * len(args) or None  # every argument sent here is a string
    message = new_method_call(DBusAddress(PATH, name, interface), method, signature, args)
    reply = connection.send_and_get_reply(message, timeout=5)
    assert reply.header.message_type is MessageType.method_return, reply.body
    return reply.body


def get(connection: DBusConnection, name: str, prop: str, interface: str = PLAYER) -> Any:
    return call(connection, name, PROPERTIES, "Get", interface, prop)[0][1]


def metadata(connection: DBusConnection, name: str) -> dict[str, Any]:
    return {key: value for key, (_, value) in get(connection, name, "Metadata").items()}


def press(bus: str, name: str, method: str, *args: str) -> subprocess.CompletedProcess[str]:
    """dbus-send, as a desktop's media keys would send the method."""
    return subprocess.run(
        ["dbus-send", "--session", "--print-reply", f"--dest={name}", PATH, method, *args],
        env={**os.environ, "DBUS_SESSION_BUS_ADDRESS": bus},
        capture_output=True,
        text=True,
        timeout=10,
    )


def owner(connection: DBusConnection, name: str) -> bool:
    reply = connection.send_and_get_reply(message_bus.NameHasOwner(name), timeout=5)
    return bool(reply.body[0])


def wait_for(condition: Callable[[], Any], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# ---------------------------------------------------------------------------------------
# On the bus: the name, what a client sees, and the errors it gets.


def test_the_player_owns_the_mpris_name_while_entered(on_bus: str, client: DBusConnection) -> None:
    timeline, _ = routine()
    with MediaPlayer(timeline, idle_player(timeline)) as media:
        assert media.bus_name == BUS_NAME == "org.mpris.MediaPlayer2.coach"
        assert owner(client, BUS_NAME)
        left = time.monotonic()
    assert time.monotonic() - left < 0.3
    wait_for(lambda: not owner(client, BUS_NAME), timeout=2)


def test_a_second_coach_takes_an_instance_name(on_bus: str, client: DBusConnection) -> None:
    timeline, _ = routine()
    with (
        MediaPlayer(timeline, idle_player(timeline)),
        MediaPlayer(timeline, idle_player(timeline)) as second,
    ):
        assert second.bus_name == f"org.mpris.MediaPlayer2.coach.instance{os.getpid()}"
        assert owner(client, BUS_NAME) and owner(client, second.bus_name)


def test_metadata_names_the_routine_and_the_step(on_bus: str, client: DBusConnection) -> None:
    timeline, _ = routine()
    reps = timeline.chapters[1]
    with MediaPlayer(timeline, idle_player(timeline, reps.start + 3 * RATE)):
        assert metadata(client, BUS_NAME) == {
            "mpris:trackid": "/org/coach/step/2",
            "mpris:length": 20 * SECOND,
            "xesam:title": "Reps",
            "xesam:album": TITLE,
            "xesam:artist": ["coach"],
            "xesam:trackNumber": 2,
        }
        assert get(client, BUS_NAME, "Position") == 3 * SECOND


def test_before_the_first_step_the_track_is_the_introduction(
    on_bus: str, client: DBusConnection
) -> None:
    timeline, _ = routine(first_step_at=3 * RATE)
    with MediaPlayer(timeline, idle_player(timeline)):
        found = metadata(client, BUS_NAME)
    assert found["mpris:trackid"] == "/org/coach/step/0" and found["xesam:trackNumber"] == 0
    assert found["xesam:title"] == "Introduction" and found["mpris:length"] == 3 * SECOND


def test_between_steps_the_track_is_the_next_step_and_after_the_last_the_last() -> None:
    timeline = Timeline(
        TITLE, RATE, 10 * RATE, [Chapter("One", RATE, 3 * RATE), Chapter("Two", 5 * RATE, 8 * RATE)]
    )
    assert (track_at(timeline, 0).number, track_at(timeline, 0).name) == (0, "Introduction")
    assert (track_at(timeline, 2 * RATE).number, track_at(timeline, 2 * RATE).name) == (1, "One")
    assert (track_at(timeline, 4 * RATE).number, track_at(timeline, 4 * RATE).name) == (2, "Two")
    assert (track_at(timeline, 9 * RATE).number, track_at(timeline, 9 * RATE).name) == (2, "Two")


def test_the_player_says_what_it_can_do(on_bus: str, client: DBusConnection) -> None:
    timeline, _ = routine()
    with MediaPlayer(timeline, idle_player(timeline)):
        (player,) = call(client, BUS_NAME, PROPERTIES, "GetAll", PLAYER)
        (root,) = call(client, BUS_NAME, PROPERTIES, "GetAll", ROOT_INTERFACE)
    assert {name: value for name, (_, value) in player.items() if name != "Metadata"} == {
        "PlaybackStatus": "Playing",
        "LoopStatus": "None",
        "Rate": 1.0,
        "Shuffle": False,
        "Volume": 1.0,
        "Position": 0,
        "MinimumRate": 1.0,
        "MaximumRate": 1.0,
        "CanGoNext": True,
        "CanGoPrevious": True,
        "CanPlay": True,
        "CanPause": True,
        "CanSeek": False,
        "CanControl": True,
    }
    assert {name: value for name, (_, value) in root.items()} == {
        "CanQuit": True,
        "CanRaise": False,
        "HasTrackList": False,
        "Identity": "coach",
        "SupportedUriSchemes": [],
        "SupportedMimeTypes": [],
    }


def test_introspection_describes_exactly_what_is_served(
    on_bus: str, client: DBusConnection
) -> None:
    timeline, _ = routine()
    with MediaPlayer(timeline, idle_player(timeline)):
        (xml,) = call(client, BUS_NAME, "org.freedesktop.DBus.Introspectable", "Introspect")
        served = {
            interface: call(client, BUS_NAME, PROPERTIES, "GetAll", interface)[0]
            for interface in (ROOT_INTERFACE, PLAYER)
        }
    interfaces = {i.get("name"): i for i in ElementTree.fromstring(xml).iter("interface")}
    assert set(interfaces) == {
        ROOT_INTERFACE,
        PLAYER,
        PROPERTIES,
        "org.freedesktop.DBus.Introspectable",
        "org.freedesktop.DBus.Peer",
    }
    for interface, values in served.items():
        declared = {p.get("name"): p.get("type") for p in interfaces[interface].iter("property")}
        assert declared == {name: signature for name, (signature, _) in values.items()}
    methods = {m.get("name") for m in interfaces[PLAYER].iter("method")}
    assert set(BY_MEDIA) <= methods and {"Seek", "SetPosition", "OpenUri"} <= methods
    signals = {s.get("name") for s in interfaces[PROPERTIES].iter("signal")}
    assert signals == {"PropertiesChanged"}


def test_ping_answers(on_bus: str) -> None:
    timeline, _ = routine()
    with MediaPlayer(timeline, idle_player(timeline)):
        assert press(on_bus, BUS_NAME, "org.freedesktop.DBus.Peer.Ping").returncode == 0


def test_properties_are_read_only(on_bus: str) -> None:
    timeline, _ = routine()
    with MediaPlayer(timeline, idle_player(timeline)):
        done = press(
            on_bus, BUS_NAME, f"{PROPERTIES}.Set", f"string:{PLAYER}", "string:Volume",
            "variant:double:0.5",
        )  # fmt: skip
    assert done.returncode != 0 and "org.freedesktop.DBus.Error.PropertyReadOnly" in done.stderr


@pytest.mark.parametrize(
    ("method", "error"),
    [
        (f"{PLAYER}.Rewind", "UnknownMethod"),
        ("org.example.Nothing.Rewind", "UnknownInterface"),
        (f"{PLAYER}.Seek", "InvalidArgs"),  # Seek takes an offset
    ],
)
def test_a_wrong_call_gets_a_dbus_error(on_bus: str, method: str, error: str) -> None:
    timeline, _ = routine()
    with MediaPlayer(timeline, idle_player(timeline)):
        done = press(on_bus, BUS_NAME, method)
    assert done.returncode != 0 and f"org.freedesktop.DBus.Error.{error}" in done.stderr


def test_quit_stops_the_player(on_bus: str) -> None:
    timeline, _ = routine()
    player = idle_player(timeline)
    with MediaPlayer(timeline, player):
        assert press(on_bus, BUS_NAME, f"{ROOT_INTERFACE}.Quit").returncode == 0
    assert player.stopped


def test_without_a_session_bus_address_media_buttons_are_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    timeline, _ = routine()
    with pytest.raises(MediaButtonsUnavailable) as raised:
        MediaPlayer(timeline, idle_player(timeline)).__enter__()
    assert str(raised.value) == "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)"


def test_a_dead_bus_socket_makes_media_buttons_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = tmp_path / "bus"
    with socket.socket(socket.AF_UNIX) as gone:
        gone.bind(str(dead))  # the file of a bus that is no longer listening
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={dead}")
    timeline, _ = routine()
    with pytest.raises(MediaButtonsUnavailable) as raised:
        MediaPlayer(timeline, idle_player(timeline)).__enter__()
    assert str(raised.value) == "cannot reach the D-Bus session bus: connection refused"


# ---------------------------------------------------------------------------------------
# Playing for real: a child process through the captured device, paced in real time.

CHILD = r"""
import json, pickle, sys
from coach.mixer import SourceBank
from coach.mpris import MediaPlayer
from coach.player import Player

timeline, speech = pickle.load(open(sys.argv[1], "rb"))
player = Player(timeline, SourceBank(timeline.sample_rate, speech=speech))
with MediaPlayer(timeline, player) as media:
    print(json.dumps({"name": media.bus_name}), flush=True)
    player.run()
print(json.dumps({"played": player.played, "stopped": player.stopped}), flush=True)
"""


@dataclass
class Live:
    child: subprocess.Popen[str]
    name: str
    stderr: Path

    def finish(self, timeout: float = 10.0) -> dict[str, Any]:
        """Wait for the child to end; its last report."""
        out, _ = self.child.communicate(timeout=timeout)
        assert self.child.returncode == 0, self.stderr.read_text()
        return dict(json.loads(out.strip().splitlines()[-1]))


@pytest.fixture
def live(tmp_path: Path, bus: str) -> Iterator[Live]:
    """The routine playing in a child process with media buttons on the private bus."""
    job = tmp_path / "job.pickle"
    job.write_bytes(pickle.dumps(routine()))
    env = device_env(tmp_path / "capture.raw", tmp_path / "opens.txt", paced_conf(tmp_path))
    env.update(PYTHONPATH=str(ROOT), DBUS_SESSION_BUS_ADDRESS=bus)
    stderr, name = tmp_path / "stderr.txt", ""
    with stderr.open("w") as errors:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(job)],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env=env,
            cwd=tmp_path,
        )
    try:
        assert child.stdout is not None
        ready, _, _ = select.select([child.stdout], [], [], 30)
        line = child.stdout.readline() if ready else ""
        assert line, f"the child never took a bus name: {stderr.read_text()}"
        name = json.loads(line)["name"]
        yield Live(child, name, stderr)
    finally:
        if child.poll() is None and name:  # the test is over: stop as a listener would
            press(bus, name, f"{PLAYER}.Stop")
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(5)
        if child.poll() is None:
            child.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.communicate(timeout=5)


def status(client: DBusConnection, live: Live) -> str:
    return str(get(client, live.name, "PlaybackStatus"))


def sounding(client: DBusConnection, live: Live) -> bool:
    return int(get(client, live.name, "Position")) > 0


def test_pause_and_play_buttons(live: Live, bus: str, client: DBusConnection) -> None:
    wait_for(lambda: sounding(client, live))
    assert status(client, live) == "Playing"
    assert press(bus, live.name, f"{PLAYER}.Pause").returncode == 0
    wait_for(lambda: status(client, live) == "Paused", timeout=3)
    held = get(client, live.name, "Position")
    time.sleep(0.3)
    assert get(client, live.name, "Position") == held  # paused: the position stands still
    assert press(bus, live.name, f"{PLAYER}.Play").returncode == 0
    wait_for(lambda: status(client, live) == "Playing", timeout=3)
    wait_for(lambda: get(client, live.name, "Position") > held, timeout=3)


def test_play_pause_toggles(live: Live, bus: str, client: DBusConnection) -> None:
    wait_for(lambda: sounding(client, live))
    assert press(bus, live.name, f"{PLAYER}.PlayPause").returncode == 0
    wait_for(lambda: status(client, live) == "Paused", timeout=3)
    assert press(bus, live.name, f"{PLAYER}.PlayPause").returncode == 0
    wait_for(lambda: status(client, live) == "Playing", timeout=3)


def test_pausing_signals_the_change(live: Live, bus: str, client: DBusConnection) -> None:
    rule = MatchRule(type="signal", interface=PROPERTIES, member="PropertiesChanged", path=PATH)
    client.send_and_get_reply(message_bus.AddMatch(rule), timeout=5)
    wait_for(lambda: sounding(client, live))
    with client.filter(rule, bufsize=20) as signals:
        assert press(bus, live.name, f"{PLAYER}.Pause").returncode == 0
        deadline = time.monotonic() + 3
        while True:
            message = client.recv_until_filtered(signals, timeout=deadline - time.monotonic())
            interface, changed, invalidated = message.body
            if "PlaybackStatus" in changed:
                break
    assert interface == PLAYER and invalidated == []
    assert changed["PlaybackStatus"] == ("s", "Paused")


def test_next_goes_to_the_next_step(live: Live, bus: str, client: DBusConnection) -> None:
    wait_for(lambda: sounding(client, live))
    assert metadata(client, live.name)["xesam:trackNumber"] == 1
    assert press(bus, live.name, f"{PLAYER}.Next").returncode == 0
    wait_for(lambda: metadata(client, live.name)["xesam:title"] == "Reps", timeout=3)
    assert metadata(client, live.name)["xesam:trackNumber"] == 2
    assert press(bus, live.name, f"{PLAYER}.Stop").returncode == 0
    played = live.finish()["played"]
    reps = 20 * RATE
    assert len(played) == 2 and 0 < played[0][1] < reps and played[1][0] == reps


def test_stop_ends_the_session(live: Live, bus: str, client: DBusConnection) -> None:
    wait_for(lambda: sounding(client, live))
    assert press(bus, live.name, f"{PLAYER}.Stop").returncode == 0
    report = live.finish(timeout=5)
    assert report["stopped"] and report["played"][0][1] < 10 * RATE
    wait_for(lambda: not owner(client, live.name), timeout=2)


# ---------------------------------------------------------------------------------------
# `coach play` as a user runs it: the real command, speech and device, on the private bus.

TINY = FIXTURES / "cli" / "good.routine"  # "Tiny": one step of 12 s
ANNOUNCED = re.compile(r"Playing (?P<title>.+) \((?P<minutes>\d+):(?P<seconds>\d\d)\)\. ")
BYTES_PER_SECOND = 2 * RATE  # what the paced device takes: mono int16


@dataclass
class Play:
    """`coach play` running in its own process; its stderr goes to a file."""

    process: subprocess.Popen[bytes]
    stderr: Path
    capture: Path

    def errors(self) -> str:
        return self.stderr.read_text()

    def wait(self, condition: Callable[[], Any], timeout: float = 60.0) -> None:
        """Wait for `condition` while coach is still playing."""
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.process.poll() is None, f"coach ended early: {self.errors()}"
            assert time.monotonic() < deadline, f"timed out; coach said: {self.errors()}"
            time.sleep(0.02)

    def announced(self) -> re.Match[str] | None:
        return ANNOUNCED.search(self.errors())


@pytest.fixture(scope="module")
def clip_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One clip cache for these plays: the first synthesizes the speech, the next reads it."""
    return tmp_path_factory.mktemp("clips")


@pytest.fixture
def coach_play(tmp_path: Path, bus: str, clip_cache: Path) -> Iterator[Callable[..., Play]]:
    """Starts `coach play TINY OPTIONS` as a user would, its session bus the private one
    and its device the paced capture; whatever still runs at the end is killed."""
    plays: list[Play] = []

    def start(*options: str) -> Play:
        capture = tmp_path / "capture.raw"
        env = device_env(capture, tmp_path / "opens.txt", paced_conf(tmp_path))
        env.update(DBUS_SESSION_BUS_ADDRESS=bus, COACH_CACHE_DIR=str(clip_cache))
        stderr = tmp_path / "stderr.txt"
        with stderr.open("w") as errors:
            process = subprocess.Popen(
                [sys.executable, "-m", "coach", "play", str(TINY), *options],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                env=env,
                cwd=tmp_path,
            )
        plays.append(Play(process, stderr, capture))
        return plays[-1]

    yield start
    for play in plays:
        if play.process.poll() is None:
            play.process.kill()
        play.process.wait(5)


def test_coach_play_serves_media_buttons(
    coach_play: Callable[..., Play], bus: str, client: DBusConnection
) -> None:
    play = coach_play()
    play.wait(lambda: owner(client, BUS_NAME))
    play.wait(play.announced)  # sound flows
    announced = play.announced()
    assert announced is not None
    length = 60 * int(announced["minutes"]) + int(announced["seconds"])
    assert announced["title"] == "Tiny" and length == 12
    assert metadata(client, BUS_NAME)["xesam:album"] == "Tiny"
    assert get(client, BUS_NAME, "PlaybackStatus") == "Playing"

    assert press(bus, BUS_NAME, f"{PLAYER}.Pause").returncode == 0
    play.wait(lambda: get(client, BUS_NAME, "PlaybackStatus") == "Paused", timeout=3)
    assert press(bus, BUS_NAME, f"{PLAYER}.Play").returncode == 0
    play.wait(lambda: get(client, BUS_NAME, "PlaybackStatus") == "Playing", timeout=3)

    assert press(bus, BUS_NAME, f"{PLAYER}.Stop").returncode == 0
    assert play.process.wait(5) == 0, play.errors()
    errors = play.errors()
    # Where it stopped (and how to resume), then the summary line.
    assert errors.splitlines()[-2].startswith("Stopped "), errors
    assert errors.splitlines()[-1].startswith("Played "), errors
    assert "Traceback" not in errors and "Media buttons" not in errors
    # Stopped well before the end: the device got less than half of the routine.
    assert play.capture.stat().st_size < BYTES_PER_SECOND * length / 2
    assert not owner(client, BUS_NAME)


def test_coach_play_without_media_keys_stays_off_the_bus(
    coach_play: Callable[..., Play], client: DBusConnection
) -> None:
    changes = MatchRule(type="signal", interface="org.freedesktop.DBus", member="NameOwnerChanged")
    client.send_and_get_reply(message_bus.AddMatch(changes), timeout=5)
    with client.filter(changes, bufsize=1000) as owners:
        play = coach_play("--no-media-keys")
        seen: set[str] = set()
        deadline = time.monotonic() + 60
        while play.process.poll() is None:  # to the routine's end, 12 s of it playing
            (names,) = client.send_and_get_reply(message_bus.ListNames(), timeout=5).body
            seen.update(name for name in names if name.startswith(ROOT_INTERFACE))
            assert time.monotonic() < deadline, f"timed out; coach said: {play.errors()}"
            time.sleep(0.05)
        # The name is never held, not even for a moment between two looks.
        seen.update(str(message.body[0]) for message in owners)
    seen = {name for name in seen if name.startswith(ROOT_INTERFACE)}
    errors = play.errors()
    assert play.process.returncode == 0, errors
    assert play.announced() is not None and errors.splitlines()[-1].startswith("Done. "), errors
    assert seen == set()
    assert "Media buttons" not in errors
