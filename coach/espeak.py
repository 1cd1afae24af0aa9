"""espeak-ng facts read in coach's own process through its C library: version, voices; no speech."""

from __future__ import annotations

import ctypes
import threading
from typing import Any

from coach.diagnostics import SpeechError

INSTALL_HINT = (
    "install espeak-ng (Debian/Ubuntu: sudo apt-get install espeak-ng; "
    "Fedora: sudo dnf install espeak-ng)"
)

# Where pyttsx3's espeak driver looks, in its order, so both load the same library.
_PATHS = (
    "/opt/homebrew/lib/libespeak-ng.1.dylib",
    "/usr/local/lib/libespeak-ng.1.dylib",
    "/usr/local/lib/libespeak.dylib",
    "libespeak-ng.so.1",
    "/usr/local/lib/libespeak-ng.so.1",
    "libespeak.so.1",
    r"C:\Program Files\eSpeak NG\libespeak-ng.dll",
    r"C:\Program Files (x86)\eSpeak NG\libespeak-ng.dll",
)

#: A voice as (id, name, languages), ids lower-cased as pyttsx3 reports them.
VoiceInfo = tuple[str, str, tuple[str, ...]]


class _Voice(ctypes.Structure):
    _fields_ = (  # espeak_VOICE in speak_lib.h
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_char_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    )


_lock = threading.Lock()
_library: Any = None
_voices: list[VoiceInfo] | None = None


def _load() -> Any:
    global _library
    if _library is None:
        failures = []
        for path in _PATHS:
            try:
                _library = ctypes.cdll.LoadLibrary(path)
                break
            except OSError as exc:
                failures.append(str(exc))
        else:
            raise SpeechError(f"espeak-ng could not be loaded ({failures[-1]}); {INSTALL_HINT}")
    return _library


def version() -> str:
    """The library's version, e.g. '1.51' (espeak_Info needs no initialisation)."""
    with _lock:
        info = _load().espeak_Info
        info.restype = ctypes.c_char_p
        info.argtypes = [ctypes.c_void_p]
        found: bytes | None = info(None)
    return found.decode("utf-8", "replace") if found else "unknown"


def voices() -> list[VoiceInfo] | None:
    """Every installed voice, as pyttsx3's espeak driver lists them; None if the library is
    too old to list them without starting its synthesizer (then a worker must list them).

    Only the data path is set up (espeak_ng_InitializePath), so no synthesis state, thread
    or audio output ever exists in coach's own process.
    """
    global _voices
    with _lock:
        if _voices is None:
            library = _load()
            if not hasattr(library, "espeak_ng_InitializePath"):
                return None
            library.espeak_ng_InitializePath.argtypes = [ctypes.c_char_p]
            library.espeak_ng_InitializePath.restype = None
            library.espeak_ng_InitializePath(None)
            listing = library.espeak_ListVoices
            listing.argtypes = [ctypes.c_void_p]
            listing.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
            found: list[VoiceInfo] = []
            entries = listing(None)
            index = 0
            while entries and entries[index]:
                v = entries[index].contents
                index += 1
                ident = (v.identifier or b"").decode("utf-8", "replace").lower()
                name = (v.name or b"").decode("utf-8", "replace") or ident
                # `languages` is a priority byte, then the language; pyttsx3 keeps the first.
                langs = (v.languages[1:].decode("utf-8", "ignore"),) if v.languages else ()
                found.append((ident, name, langs))
            _voices = found
        return list(_voices)
