"""Media buttons: a live session served as an MPRIS media player on the session D-Bus."""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from typing import Any

from jeepney import (
    DBusAddress,
    HeaderFields,
    Message,
    MessageFlag,
    MessageType,
    new_error,
    new_method_return,
    new_signal,
)
from jeepney.bus_messages import DBusNameFlags, message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection

from coach.commands import BY_MEDIA
from coach.diagnostics import CoachError
from coach.player import Player
from coach.timeline import Timeline

BUS_NAME = "org.mpris.MediaPlayer2.coach"
OBJECT_PATH = "/org/mpris/MediaPlayer2"
TRACK_PATH = "/org/coach/step/"  # + the step's number: 0 is what comes before the first step
ROOT = "org.mpris.MediaPlayer2"
PLAYER = "org.mpris.MediaPlayer2.Player"
PROPERTIES = "org.freedesktop.DBus.Properties"
INTROSPECTABLE = "org.freedesktop.DBus.Introspectable"
PEER = "org.freedesktop.DBus.Peer"

POLL_SECONDS = 0.1  # how long the serving thread waits for a call before looking at the player
REPLY_SECONDS = 2.0  # how long the bus may take to answer a name request
STOP_SECONDS = 1.0  # how long leaving waits for the serving thread (it ends within POLL_SECONDS)
MACHINE_ID_FILES = ("/etc/machine-id", "/var/lib/dbus/machine-id")

# RequestName's answers that leave us owning the name (DBUS_REQUEST_NAME_REPLY_*).
PRIMARY_OWNER, ALREADY_OWNER = 1, 4

ERROR = "org.freedesktop.DBus.Error."

Variant = tuple[str, Any]  # (D-Bus signature, value): how jeepney writes a variant
Arg = tuple[str, str, str]  # (name, signature, direction)

# The player's buttons: the MPRIS spec's names. What each does is coach.commands' business.
BUTTONS = ("Next", "Previous", "Pause", "PlayPause", "Stop", "Play")

# Every method served, by interface, with its arguments: the one source of dispatch, argument
# checks and the introspection XML.
METHODS: dict[str, dict[str, tuple[Arg, ...]]] = {
    ROOT: {"Raise": (), "Quit": ()},
    PLAYER: {
        **{button: () for button in BUTTONS},
        "Seek": (("Offset", "x", "in"),),
        "SetPosition": (("TrackId", "o", "in"), ("Position", "x", "in")),
        "OpenUri": (("Uri", "s", "in"),),
    },
    PROPERTIES: {
        "Get": (("interface_name", "s", "in"), ("property_name", "s", "in"), ("value", "v", "out")),
        "GetAll": (("interface_name", "s", "in"), ("properties", "a{sv}", "out")),
        "Set": (("interface_name", "s", "in"), ("property_name", "s", "in"), ("value", "v", "in")),
    },
    INTROSPECTABLE: {"Introspect": (("xml_data", "s", "out"),)},
    PEER: {"Ping": (), "GetMachineId": (("machine_uuid", "s", "out"),)},
}
SIGNALS: dict[str, dict[str, tuple[Arg, ...]]] = {
    PLAYER: {"Seeked": (("Position", "x", ""),)},
    PROPERTIES: {
        "PropertiesChanged": (
            ("interface_name", "s", ""),
            ("changed_properties", "a{sv}", ""),
            ("invalidated_properties", "as", ""),
        )
    },
}
# Player properties whose changes are signalled (Position is read when wanted, per the spec).
WATCHED = ("PlaybackStatus", "Metadata", "CanGoNext", "CanGoPrevious", "CanPlay")

UNSIGNALLED = '<annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="false"/>'
DOCTYPE = (
    '<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"\n'
    ' "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">\n'
)


class MediaButtonsUnavailable(CoachError):
    """No session bus to serve on; the message says why in one short clause."""


@dataclass(frozen=True)
class Track:
    """What MPRIS calls the track: a step, or what comes before the first one (number 0)."""

    number: int  # as users count steps: the chapter's index + 1
    name: str
    start: int  # samples
    end: int


def track_at(timeline: Timeline, position: int) -> Track:
    """The track at `position`: the step playing; between steps the one coming next (as the
    status line says "before step N"); after the last step, the last one."""
    chapters = timeline.chapters
    if not chapters:
        return Track(0, timeline.title, 0, timeline.length)
    first = min(chapter.start for chapter in chapters)
    if position < first:
        return Track(0, timeline.introduction, 0, first)
    index = timeline.chapter_at(position)
    if index is None:
        order = sorted(range(len(chapters)), key=lambda i: (chapters[i].start, i))
        index = next((i for i in order if chapters[i].start > position), order[-1])
    chapter = chapters[index]
    return Track(index + 1, chapter.name, chapter.start, chapter.end)


class MediaPlayer:
    """Serves `player` as an MPRIS media player while entered, so headphone and desktop
    media buttons control it. A daemon thread does all the D-Bus traffic (jeepney's blocking
    connection is not thread-safe): it answers calls and signals changes of the playback
    status and the step. Entering raises MediaButtonsUnavailable when there is no bus."""

    def __init__(self, timeline: Timeline, player: Player) -> None:
        self.timeline = timeline
        self.player = player
        self.bus_name = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> MediaPlayer:
        connection = connect()
        try:
            self.bus_name = take_name(connection)
        except BaseException:
            connection.close()
            raise
        self._stop = threading.Event()
        # From here on only the serving thread touches the connection.
        self._thread = threading.Thread(
            target=self._serve, args=(connection,), name="coach-mpris", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(STOP_SECONDS)
            self._thread = None

    # -- the serving thread --

    def _serve(self, connection: DBusConnection) -> None:
        try:
            shown = self._watched()
            while not self._stop.is_set():
                try:
                    message = connection.receive(timeout=POLL_SECONDS)
                except TimeoutError:
                    message = None
                reply = None if message is None else self._answer(message)
                if reply is not None:
                    connection.send(reply)
                now = self._watched()
                changed = {name: value for name, value in now.items() if shown[name] != value}
                if changed:
                    connection.send(properties_changed(changed))
                shown = now
        except (OSError, ValueError):  # the bus went away or spoke nonsense: buttons stop
            pass
        finally:
            # Hanging up frees the name too; releasing it first frees it at once for the next coach
            with contextlib.suppress(Exception):
                release = message_bus.ReleaseName(self.bus_name)
                release.header.flags = MessageFlag.no_reply_expected
                connection.send(release)
            with contextlib.suppress(Exception):
                connection.close()

    def _answer(self, message: Message) -> Message | None:
        """The reply to a method call, or None (not a call, or no reply wanted)."""
        header = message.header
        if header.message_type is not MessageType.method_call:
            return None  # signals from the bus (NameAcquired) and stray replies
        try:
            reply = self._reply(message)
        except Exception as error:  # one bad call must not take the buttons down
            reply = new_error(message, ERROR + "Failed", "s", (one_line(error),))
        return None if header.flags & MessageFlag.no_reply_expected else reply

    def _reply(self, message: Message) -> Message:
        fields = message.header.fields
        member = fields.get(HeaderFields.member, "")
        path = fields.get(HeaderFields.path, "")
        # A call may leave out the interface; no member name is in two of ours.
        interface = fields.get(HeaderFields.interface) or next(
            (name for name, methods in METHODS.items() if member in methods), ""
        )
        if interface not in METHODS:
            return fail(message, "UnknownInterface", f"no interface {interface!r}")
        args = METHODS[interface].get(member)
        if args is None:
            return fail(message, "UnknownMethod", f"no method {member!r} in {interface}")
        wanted = "".join(signature for _, signature, way in args if way == "in")
        if fields.get(HeaderFields.signature, "") != wanted:
            return fail(message, "InvalidArgs", f"{member} takes ({wanted})")
        if interface == PEER:  # the peer interface answers on every path
            if member == "Ping":
                return new_method_return(message)
            return new_method_return(message, "s", (machine_id(),))
        if interface == INTROSPECTABLE and (path == "/" or OBJECT_PATH.startswith(path + "/")):
            return new_method_return(message, "s", (ancestor_xml(path),))
        if path != OBJECT_PATH:
            return fail(message, "UnknownObject", f"no object at {path}")
        if interface == INTROSPECTABLE:
            return new_method_return(message, "s", (self._introspect(),))
        if interface == PROPERTIES:
            return self._property_call(message, member, message.body)
        if interface == ROOT:
            if member == "Quit":
                self.player.command("quit")
            return new_method_return(message)  # Raise: CanRaise is false, so nothing to do
        command = BY_MEDIA.get(member)
        if command is not None:
            self.player.command(command)
        elif member in BUTTONS:
            return fail(message, "NotSupported", f"{member} does nothing in coach")
        # Seek, SetPosition and OpenUri do nothing: CanSeek is false, no URI scheme is supported.
        return new_method_return(message)

    def _property_call(self, message: Message, member: str, body: tuple[Any, ...]) -> Message:
        interface = body[0]
        values = self._properties(interface)
        if values is None:
            return fail(message, "UnknownInterface", f"no interface {interface!r}")
        if member == "GetAll":
            return new_method_return(message, "a{sv}", (values,))
        name = body[1]
        if name not in values:
            return fail(message, "UnknownProperty", f"no property {name!r} in {interface}")
        if member == "Get":
            return new_method_return(message, "v", (values[name],))
        return fail(message, "PropertyReadOnly", f"{name} is read-only")

    # -- what the player looks like --

    def _properties(self, interface: str) -> dict[str, Variant] | None:
        """Every property of `interface` with its current value; None for an interface that
        is not here."""
        if interface == ROOT:
            return {
                "CanQuit": ("b", True),
                "CanRaise": ("b", False),
                "HasTrackList": ("b", False),
                "Identity": ("s", "coach"),
                "SupportedUriSchemes": ("as", []),
                "SupportedMimeTypes": ("as", []),
            }
        if interface == PLAYER:
            return self._player_properties()
        return {} if interface in METHODS else None

    def _player_properties(self) -> dict[str, Variant]:
        state = self.player.state()
        track = track_at(self.timeline, state.position)
        over = state.finished or self.player.stopped
        status = "Stopped" if over else "Paused" if state.paused else "Playing"
        later = any(chapter.start > state.position for chapter in self.timeline.chapters)
        within = min(max(state.position - track.start, 0), track.end - track.start)
        return {
            "PlaybackStatus": ("s", status),
            "LoopStatus": ("s", "None"),
            "Rate": ("d", 1.0),
            "Shuffle": ("b", False),
            "Metadata": ("a{sv}", self._metadata(track)),
            "Volume": ("d", 1.0),
            "Position": ("x", self._microseconds(within)),
            "MinimumRate": ("d", 1.0),
            "MaximumRate": ("d", 1.0),
            "CanGoNext": ("b", not over and (later or state.heading_to is not None)),
            "CanGoPrevious": ("b", not over),
            "CanPlay": ("b", not over),
            "CanPause": ("b", True),
            "CanSeek": ("b", False),
            "CanControl": ("b", True),
        }

    def _metadata(self, track: Track) -> dict[str, Variant]:
        return {
            "mpris:trackid": ("o", f"{TRACK_PATH}{track.number}"),
            "mpris:length": ("x", self._microseconds(track.end - track.start)),
            "xesam:title": ("s", track.name),
            "xesam:album": ("s", self.timeline.title),
            "xesam:artist": ("as", ["coach"]),
            "xesam:trackNumber": ("i", track.number),
        }

    def _watched(self) -> dict[str, Variant]:
        values = self._player_properties()
        return {name: values[name] for name in WATCHED}

    def _microseconds(self, samples: int) -> int:
        return samples * 1_000_000 // self.timeline.sample_rate

    def _introspect(self) -> str:
        parts = [DOCTYPE, "<node>\n"]
        for interface, methods in METHODS.items():
            parts.append(f'  <interface name="{interface}">\n')
            for kind, members in (("method", methods), ("signal", SIGNALS.get(interface, {}))):
                for member, args in members.items():
                    parts.append(f'    <{kind} name="{member}">\n')
                    for name, signature, way in args:
                        direction = f' direction="{way}"' if way else ""
                        parts.append(f'      <arg name="{name}" type="{signature}"{direction}/>\n')
                    parts.append(f"    </{kind}>\n")
            for name, (signature, _) in (self._properties(interface) or {}).items():
                tag = f'    <property name="{name}" type="{signature}" access="read"'
                quiet = name == "Position"  # read when wanted, never signalled (the MPRIS spec)
                parts.append(
                    f"{tag}>\n      {UNSIGNALLED}\n    </property>\n" if quiet else tag + "/>\n"
                )
            parts.append("  </interface>\n")
        parts.append("</node>\n")
        return "".join(parts)


def connect() -> DBusConnection:
    """A connection to the session bus, or MediaButtonsUnavailable saying why not."""
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        raise MediaButtonsUnavailable("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)")
    try:
        return open_dbus_connection(bus="SESSION")
    # jeepney parses the address and speaks the handshake itself: whatever fails there means
    # no bus to serve on, never a crash of the session.
    except Exception as error:
        raise MediaButtonsUnavailable(
            f"cannot reach the D-Bus session bus: {one_line(error)}"
        ) from None


def take_name(connection: DBusConnection) -> str:
    """Own BUS_NAME, or (another player has it) BUS_NAME.instance<pid> as the MPRIS spec
    says; the name got."""
    names = (BUS_NAME, f"{BUS_NAME}.instance{os.getpid()}")
    for name in names:
        request = message_bus.RequestName(name, DBusNameFlags.do_not_queue)
        try:
            reply = connection.send_and_get_reply(request, timeout=REPLY_SECONDS)
        except Exception as error:  # the bus hung up or never answered
            raise MediaButtonsUnavailable(
                f"the D-Bus session bus did not answer: {one_line(error)}"
            ) from None
        if reply.header.message_type is MessageType.error:
            reason = " ".join(str(reply.body[0]).split()) if reply.body else "no reason given"
            raise MediaButtonsUnavailable(f"the D-Bus session bus refused {name}: {reason}")
        if reply.body[0] in (PRIMARY_OWNER, ALREADY_OWNER):
            return name
    raise MediaButtonsUnavailable(f"the D-Bus names {' and '.join(names)} are both taken")


def properties_changed(changed: dict[str, Variant]) -> Message:
    """The PropertiesChanged signal for player properties (none invalidated)."""
    emitter = DBusAddress(OBJECT_PATH, interface=PROPERTIES)
    body: tuple[Any, ...] = (PLAYER, changed, [])
    return new_signal(emitter, "PropertiesChanged", "sa{sv}as", body)


def fail(message: Message, error: str, text: str) -> Message:
    return new_error(message, ERROR + error, "s", (text,))


def one_line(error: BaseException) -> str:
    """An error as one short clause: an OS error's own words, else its text or its kind."""
    text = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    text = " ".join(text.split()) or type(error).__name__
    text = text[:1].lower() + text[1:] if text[1:2].islower() else text
    return text if len(text) <= 200 else text[:197] + "..."


def machine_id() -> str:
    for path in MACHINE_ID_FILES:
        with contextlib.suppress(OSError), open(path, encoding="ascii") as file:
            found = file.read().strip()
            if found:
                return found
    raise OSError("this machine has no D-Bus machine id")


def ancestor_xml(path: str) -> str:
    """Introspection of a path above the player's object: just the way down to it."""
    below = OBJECT_PATH[len(path.rstrip("/")) + 1 :].split("/")[0]
    return f'{DOCTYPE}<node>\n  <node name="{below}"/>\n</node>\n'
