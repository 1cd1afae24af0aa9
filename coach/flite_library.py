"""flite's C library driven in a speech worker (`python -m coach.speech_worker flite`): each
line said as the flite program says it, without loading flite and its voices for every line.

The flite program spends most of a line's 40 ms starting: linking a dozen libraries and
registering every voice it has. Here a worker loads libflite once and each voice's library the
first time a line asks for it (`register_cmu_us_VOICE`), then says line after line with
`flite_text_to_speech`, after setting on the voice the features the program would be given
(`--setf duration_stretch=...`, `--setf int_f0_target_mean=...`) and putting back those the line
does not set. The clustergen voices (slt, rms, awb) excite their filter with C's `rand()`, which
a new program starts from its initial state: it is reset before every line, so a clip is the
same bytes the program makes (a test holds them equal) and the clip cache's keys stay as they
were.

Only ever imported in a worker: nothing of flite is loaded in coach's own process.
"""

from __future__ import annotations

import ctypes
import os
import re
from typing import Any

from coach.diagnostics import SpeechError

#: The soname of flite's engine library, and of each voice's (`VOICE_LIBRARY.format(voice)`).
CORE_LIBRARY = "libflite.so.1"
VOICE_LIBRARY = "libflite_cmu_us_{}.so.1"
INSTALL_HINT = "install flite (Debian/Ubuntu: sudo apt-get install flite)"
_VOICE_NAME = re.compile(r"[a-z0-9_]+")
# flite keeps a feature's name as the pointer it was given (it never copies it): these bytes
# objects live as long as the process, so the names stay valid.
_STRETCH = b"duration_stretch"
_F0_MEAN = b"int_f0_target_mean"


class _Voice(ctypes.Structure):
    _fields_ = (  # struct cst_voice_struct in flite's cst_voice.h (1.4 to 2.2)
        ("name", ctypes.c_char_p),
        ("features", ctypes.c_void_p),
        ("ffunctions", ctypes.c_void_p),
        ("utt_init", ctypes.c_void_p),
    )


class _Loaded:
    """A registered voice, and the features it had of its own before any line changed them."""

    def __init__(self, voice: Any, own: dict[bytes, float | None]) -> None:
        self.voice = voice
        self.own = own


class FliteBackend:
    """libflite loaded once in this worker, its voices as lines ask for them."""

    def __init__(self) -> None:
        try:
            self.core: Any = ctypes.CDLL(CORE_LIBRARY)
            libc: Any = ctypes.CDLL(None)  # the process's own C library: rand's state
        except OSError as exc:
            message = f"flite's library could not be loaded ({exc}); {INSTALL_HINT}"
            raise SpeechError(message) from None
        core = self.core
        self._srand = libc.srand
        self._srand.argtypes = [ctypes.c_uint]
        self._srand.restype = None
        core.flite_init.restype = ctypes.c_int
        core.flite_init()
        core.feat_present.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        core.feat_present.restype = ctypes.c_int
        core.feat_float.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        core.feat_float.restype = ctypes.c_float
        core.feat_set_float.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_float]
        core.feat_set_float.restype = None
        core.feat_remove.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        core.feat_remove.restype = ctypes.c_int
        speak = core.flite_text_to_speech
        speak.argtypes = [ctypes.c_char_p, ctypes.POINTER(_Voice), ctypes.c_char_p]
        speak.restype = ctypes.c_float
        self._voices: dict[str, _Loaded] = {}

    def _voice(self, name: str) -> _Loaded:
        found = self._voices.get(name)
        if found is not None:
            return found
        if not _VOICE_NAME.fullmatch(name):
            raise SpeechError(f"flite has no library for the voice {name!r}")
        try:
            library: Any = ctypes.CDLL(VOICE_LIBRARY.format(name))
            register = getattr(library, f"register_cmu_us_{name}")
        except (OSError, AttributeError) as exc:
            raise SpeechError(f"flite's voice {name!r} could not be loaded ({exc})") from None
        register.argtypes = [ctypes.c_char_p]
        register.restype = ctypes.POINTER(_Voice)
        voice = register(None)  # NULL: the voice's data is in its library, no voice directory
        if not voice:
            raise SpeechError(f"flite's voice {name!r} could not be registered")
        features = voice.contents.features
        own: dict[bytes, float | None] = {}
        for feature in (_STRETCH, _F0_MEAN):
            # feat_float of a feature a voice lacks ends the process: asked only if present.
            present = self.core.feat_present(features, feature)
            own[feature] = self.core.feat_float(features, feature) if present else None
        found = self._voices[name] = _Loaded(voice, own)
        return found

    def _set(self, loaded: _Loaded, feature: bytes, value: str | None) -> None:
        """Set `feature` as `--setf feature=value` would (the program reads the number with
        atof, a double, then stores it as a float), or put back the voice's own."""
        features = loaded.voice.contents.features
        if value is not None:
            self.core.feat_set_float(features, feature, float(value))
        elif loaded.own[feature] is not None:
            self.core.feat_set_float(features, feature, loaded.own[feature])
        else:
            self.core.feat_remove(features, feature)

    def voices(self) -> list[list[Any]]:
        return [[name, name, ["en"]] for name in self._voices]  # coach asks `flite -lv`

    def say(self, request: dict[str, Any]) -> None:
        """Say request["text"] into the WAV file request["path"] with request["voice"], its
        "stretch" and "f0" (numbers as text, as the program is given them; f0 may be None)."""
        loaded = self._voice(str(request["voice"]))
        # The bytes the program would have had in its argv.
        text, path = os.fsencode(str(request["text"])), os.fsencode(str(request["path"]))
        if b"\0" in text or b"\0" in path:
            raise SpeechError("flite cannot say a text holding a NUL character")
        self._set(loaded, _STRETCH, request.get("stretch"))
        self._set(loaded, _F0_MEAN, request.get("f0"))
        self._srand(1)  # rand() as a new program finds it (C's initial state is srand(1))
        seconds = self.core.flite_text_to_speech(text, loaded.voice, path)
        if seconds < 0:
            raise SpeechError(f"flite failed saying {request['text']!r}")
