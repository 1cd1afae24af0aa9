"""Clip cache: content-addressed speech clips on disk, written atomically and checksummed."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coach.atomic import (
    NotAFileError,
    clear_foreign,
    current_umask,
    new_temp,
    read_bounded,
    remove_stale,
    write_atomic,
)
from coach.diagnostics import CacheError, SpeechError
from coach.engine import SpeechEngine
from coach.plan import SpeechLine
from coach.words import ENGLISH

if TYPE_CHECKING:  # the clip format (numpy) loads when a clip is read or written
    from numpy.typing import NDArray

__all__ = ["CACHE_DIR_ENV", "CacheError", "ClipCache", "default_cache_dir", "read_clip"]

#: Part of every key: bump it when the stored clip format or the key recipe changes.
FORMAT_VERSION = "coach-clip-1"
#: Environment variable naming the cache directory (the CLI's --cache-dir beats it).
CACHE_DIR_ENV = "COACH_CACHE_DIR"

#: Lengths of clips as sessions use them, so a session starts without reading every clip.
LENGTHS_FILE = "lengths.json"

#: No real clip is larger: a line is at most 600 characters, and the longest found at the
#: slowest rate (80 wpm) is 600 characters of flags, each spoken as its country's name
#: ("flag: South Georgia & South Sandwich Islands"): 20 MB, about 8 minutes. A file in the
#: cache beyond this is discarded unread (a real clip beyond it would only be rendered anew).
CLIP_MAX_BYTES = 32 * 1024 * 1024
#: lengths.json holds about 90 bytes a clip: this is some 180,000 clips.
LENGTHS_MAX_BYTES = 16 * 1024 * 1024
# Hard links unsupported here: publish by rename instead of link.
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK}

# The key recipe's JSON (made once: json.dumps with options builds an encoder every call).
_KEY_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


#: Room a clip may need on the cache's file system before it is rendered (a long clip at the
#: slowest rate is a few MB; a nearly full disk is reported before the engine is asked).
MIN_FREE_BYTES = 8 << 20


class ClipCache:
    """Speech clips keyed by sha256(format version, engine name, engine version, voice, rate,
    text, then pitch when one is set), stored as `directory / f"{key}.wav"`.

    Each clip is a mono 16-bit PCM WAV with an extra `csum` chunk after `data` holding a
    sha256 of the key and everything between the RIFF header and that chunk. Python's `wave`
    module and audio tools read the file as usual; `load` checks sizes and checksum and renders
    a clip again if anything is off, and discards unread anything in the cache that is not a
    regular file of a plausible size. New clips are written through `coach.atomic` (a
    temporary file linked into place only when complete), so readers never see a torn clip;
    when two processes render the same clip at once, the first one published wins and both use
    it. `load` may be called from several threads at once.
    """

    def __init__(self, directory: Path, engine: SpeechEngine) -> None:
        self.directory = Path(directory)
        self.engine = engine
        self.hits = 0  # clips served from disk
        self.misses = 0  # clips rendered by the engine
        self.repairs = 0  # damaged clips found on disk (each also counts as a miss)
        self._lock = threading.Lock()
        self._swept = False  # stale temporary files removed (once, before the first write)

    def key(self, line: SpeechLine) -> str:
        parts = [
            FORMAT_VERSION,
            self.engine.name,
            self.engine.version(),
            line.voice,
            line.rate,
            line.text,
        ]
        if line.pitch is not None:  # appended only when set, so existing clips keep their keys
            parts.append(line.pitch)
        if line.language != ENGLISH:  # likewise: English clips keep the keys they had
            parts.append(f"spoken in {line.language}")
        blob = _KEY_JSON.encode(parts)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def has(self, key: str) -> bool:
        """Whether a clip is stored under `key` (not whether it is intact: `load` checks)."""
        return self.path_for_key(key).is_file()

    def known_lengths(self, recipe: str) -> dict[str, int]:
        """The lengths in samples that earlier runs recorded for clips as made by `recipe`
        (how the speech stage turns a stored clip into a session's: its rate and trimming),
        key -> length; empty if none were recorded or the record is unreadable."""
        table = self._lengths_record().get(recipe)
        if not isinstance(table, dict):
            return {}
        return {k: v for k, v in table.items() if isinstance(v, int) and v >= 0}

    def record_lengths(self, recipe: str, lengths: Mapping[str, int]) -> None:
        """Add `lengths` to the record. Best effort: a cache that cannot be written goes
        without (the clips are then read in full each time)."""
        path = self.directory / LENGTHS_FILE
        record = self._lengths_record()
        table = record.get(recipe)
        record[recipe] = {**(table if isinstance(table, dict) else {}), **lengths}
        with contextlib.suppress(OSError):
            self._sweep()
            clear_foreign(path)
            data = json.dumps(record, separators=(",", ":")).encode()
            write_atomic(path, data, mode=0o644, durable=False)

    def _lengths_record(self) -> dict[str, Any]:
        try:
            data = read_bounded(self.directory / LENGTHS_FILE, LENGTHS_MAX_BYTES)
            record = json.loads(data) if data is not None else {}
        except (OSError, ValueError):
            return {}
        return record if isinstance(record, dict) else {}

    def path(self, line: SpeechLine) -> Path:
        return self.path_for_key(self.key(line))

    def path_for_key(self, key: str) -> Path:
        return self.directory / f"{key}.wav"

    def load(self, line: SpeechLine) -> tuple[NDArray[Any], int]:
        """Mono int16 samples and their sample rate for `line`, rendering them on a miss."""
        key = self.key(line)
        final = self.path_for_key(key)
        try:
            clip = read_clip(final, key)
        except FileNotFoundError:
            clip = None
        else:
            if clip is None:
                self._count(repairs=1)
        if clip is not None:
            self._count(hits=1)
            return clip
        self._count(misses=1)
        return self._render(line, key, final)

    def _count(self, hits: int = 0, misses: int = 0, repairs: int = 0) -> None:
        with self._lock:  # `+=` on an attribute is not atomic across threads
            self.hits += hits
            self.misses += misses
            self.repairs += repairs

    def _sweep(self) -> None:
        """Remove what runs killed while writing here left behind (once per cache object)."""
        with self._lock:
            if self._swept:
                return
            self._swept = True
        remove_stale(self.directory)

    def _render(self, line: SpeechLine, key: str, final: Path) -> tuple[NDArray[Any], int]:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._sweep()
            fd, spoken = new_temp(self.directory, final.name)  # what the engine writes
        except OSError as exc:
            raise CacheError(
                f"cannot write to the clip cache directory {self.directory}: "
                f"{exc.strerror or exc}; choose another one with --cache-dir or {CACHE_DIR_ENV}"
            ) from exc
        os.close(fd)
        try:
            self._check_room()
            try:
                self.engine.synthesize(line, spoken)
            except SpeechError:
                self._check_room()  # a disk that filled meanwhile is the real reason
                raise
            from coach.clipformat import read_engine_wav

            samples, rate = read_engine_wav(spoken)
        finally:
            with contextlib.suppress(OSError):
                spoken.unlink()
        from coach.clipformat import encode_clip

        try:
            return self._publish(final, key, encode_clip(samples, rate, key), (samples, rate))
        except OSError as exc:
            raise CacheError(
                f"cannot write the clip {final.name} in the clip cache directory "
                f"{self.directory}: {exc.strerror or exc}"
            ) from exc

    def _check_room(self) -> None:
        """CacheError if the cache's file system is (nearly) full: the engine would fail to
        write its clip there, and only say so once its time limit ran out."""
        try:
            found = os.statvfs(self.directory)
        except OSError:
            return  # cannot tell: writing will say
        free = found.f_bavail * found.f_frsize
        if free < MIN_FREE_BYTES:
            raise CacheError(
                f"cannot write to the clip cache directory {self.directory}: no space left "
                f"on the device ({free // 1024:,} KB free); free some space, or choose "
                f"another directory with --cache-dir or {CACHE_DIR_ENV}"
            )

    def _publish(
        self, final: Path, key: str, data: bytes, clip: tuple[NDArray[Any], int]
    ) -> tuple[NDArray[Any], int]:
        """Put the complete clip `data` under `final`; return the clip that is there."""
        for _ in range(3):
            clear_foreign(final)  # not a clip of ours: never written through, never kept
            try:
                write_atomic(final, data, mode=_clip_mode(), exclusive=True, durable=False)
                return clip
            except NotAFileError:
                return clip  # a directory keeps its place: the session still has its clip
            except FileExistsError:
                existing = _read_or_none(final, key)
                if existing is not None:
                    return existing  # first writer wins: every process uses the same clip
                with contextlib.suppress(OSError):
                    os.unlink(final)  # damaged: make way for ours
            except OSError as exc:
                if exc.errno not in _NO_LINKS:
                    raise
                # No hard links here; no fsync either: a clip a crash spoiled fails its check.
                write_atomic(final, data, mode=_clip_mode(), durable=False)
                return clip
        return clip  # something keeps its place (a directory): the session has its clip


def read_clip(path: Path, key: str) -> tuple[NDArray[Any], int] | None:
    """A stored clip's samples and rate, or None if the file is damaged in any way, is not a
    regular file, or is larger than any clip (`CLIP_MAX_BYTES`).

    FileNotFoundError propagates; other read errors raise CacheError.
    """
    try:
        data = read_bounded(path, CLIP_MAX_BYTES)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise CacheError(f"cannot read the cached clip {path}: {exc.strerror or exc}") from exc
    from coach.clipformat import decode_clip

    return decode_clip(data, key) if data is not None else None


def _read_or_none(path: Path, key: str) -> tuple[NDArray[Any], int] | None:
    try:
        return read_clip(path, key)
    except (FileNotFoundError, CacheError):
        return None


def _clip_mode() -> int:
    """The permissions of a new clip: those of any new file (0o666 less the umask)."""
    return 0o666 & ~current_umask()


def default_cache_dir(
    environ: Mapping[str, str] | None = None, package_root: Path | None = None
) -> Path:
    """Where clips go unless the CLI says otherwise.

    1. $COACH_CACHE_DIR if set;
    2. `audio_cache/` of the source checkout coach runs from (the directory holding the `coach`
       package also holds pyproject.toml and audio_cache/);
    3. the user cache directory: $XDG_CACHE_HOME/coach or ~/.cache/coach (on macOS
       ~/Library/Caches/coach, on Windows %LOCALAPPDATA%\\coach\\Cache).
    """
    env = os.environ if environ is None else environ
    configured = env.get(CACHE_DIR_ENV, "").strip()
    if configured:
        return Path(configured).expanduser().absolute()
    root = package_root if package_root is not None else Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / "audio_cache").is_dir():
        return root / "audio_cache"
    if sys.platform == "win32" and env.get("LOCALAPPDATA"):
        return Path(env["LOCALAPPDATA"]) / "coach" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "coach"
    xdg = env.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "coach"
