"""Derived audio kept beside the clip cache: what a warm run would otherwise compute again.

Session-ready speech clips (a stored clip resampled, trimmed, faded and levelled) and the
built-in sounds are pure functions of things that rarely change, yet making them costs more
CPU than the rest of a warm export's own work. Each is stored once under a name that says
everything it depends on, as `derived-<sha256 of the name>.pcm`: a magic line, the sample
type, a sha256 of the name and the samples, then the samples. Anything that does not read
back whole and with its checksum is made again; a directory that cannot be written goes
without (the audio is then made every run).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coach.atomic import clear_foreign, read_bounded, write_atomic

if TYPE_CHECKING:
    from numpy.typing import NDArray

_MAGIC = b"coach-derived-1\n"
_TYPES = {b"<i2": "int16", b"<f4": "float32"}
_HEADER = len(_MAGIC) + 3 + 32
#: The largest derived file read back: a session-ready clip of the longest line (see
#: coach.cache.CLIP_MAX_BYTES), or a built-in sound.
MAX_BYTES = 32 * 1024 * 1024


def path_for(directory: Path, name: str) -> Path:
    return Path(directory) / f"derived-{hashlib.sha256(name.encode()).hexdigest()[:40]}.pcm"


def load(directory: Path, name: str) -> NDArray[Any] | None:
    """The samples stored under `name` (read-only), or None if absent or not sound."""
    import numpy as np

    try:
        data = read_bounded(path_for(directory, name), MAX_BYTES)
    except OSError:
        return None
    if data is None or len(data) < _HEADER or not data.startswith(_MAGIC):
        return None
    kind = data[len(_MAGIC) : len(_MAGIC) + 3]
    if kind not in _TYPES or data[len(_MAGIC) + 3 : _HEADER] != _digest(name, kind, data):
        return None
    payload = memoryview(data)[_HEADER:]
    if len(payload) % np.dtype(kind.decode()).itemsize:
        return None
    samples: NDArray[Any] = np.frombuffer(payload, dtype=kind.decode())
    return samples.astype(_TYPES[kind])  # native order, writable copy of its own


def store(directory: Path, name: str, samples: NDArray[Any]) -> bool:
    """Keep `samples` (int16 or float32) under `name`; False if the directory cannot take it."""
    import numpy as np

    kind = b"<i2" if samples.dtype == np.int16 else b"<f4"
    payload = np.ascontiguousarray(samples, dtype=kind.decode()).tobytes()
    if len(payload) + _HEADER > MAX_BYTES:
        return False
    head = _MAGIC + kind
    digest = hashlib.sha256(name.encode() + kind + payload).digest()
    path = path_for(directory, name)
    try:
        clear_foreign(path)  # a link or FIFO in its place is not ours
        write_atomic(path, head + digest + payload, mode=0o644, durable=False)
    except OSError:
        return False
    return True


def remembered(directory: Path | None, name: str, make: Callable[[], NDArray[Any]]) -> NDArray[Any]:
    """The samples stored under `name`, else `make()` (stored for next time); read-only."""
    found = load(directory, name) if directory is not None else None
    if found is None:
        found = make()
        if directory is not None:
            with contextlib.suppress(OSError):
                os.makedirs(directory, exist_ok=True)
            store(directory, name, found)
    found.flags.writeable = False
    return found


def _digest(name: str, kind: bytes, data: bytes) -> bytes:
    h = hashlib.sha256(name.encode() + kind)
    h.update(memoryview(data)[_HEADER:])
    return h.digest()


@functools.cache  # the code does not change while coach runs
def code_stamp(*files: str, extra: str = "") -> str:
    """A stamp of the code in `files` (and `extra`) and numpy's version, for the names
    derived audio is kept under: a change to how it is made makes it anew. Code that is not
    in files (a frozen build) is stamped by numpy's version alone."""
    import numpy as np

    digest = hashlib.sha256(extra.encode())
    for name in files:
        with contextlib.suppress(OSError):
            digest.update(Path(name).read_bytes())
    return f"{digest.hexdigest()[:16]}, numpy {np.__version__}"
