"""Bounds: the limits of the routine language (ROUTINE-LANGUAGE 1.1), in one table."""

from __future__ import annotations

MAX_FILE_BYTES = 1024 * 1024  # a routine file, 1 MB
MAX_INCLUDE_DEPTH = 8
MAX_BLOCK_DEPTH = 32  # step, for, between and repeat blocks inside one another, across includes
MAX_REPEAT = 1000
MAX_BREATHE = 200
MAX_FOR_ITEMS = 100
MAX_DURATION = 2 * 3600.0  # one duration
MAX_ROUTINE = 4 * 3600.0  # a whole routine: timed parts, sound files and estimated speech
MAX_EVENTS = 100_000  # after every for, include and repeat is expanded
MAX_SPOKEN_LINES = 5_000  # distinct spoken lines, coach's own words included
MAX_TEXT_CHARS = 600  # one spoken text, after its placeholders are filled in
RATE_RANGE = (80, 450)  # words per minute
TEMPO_RANGE = (1.0, 240.0)  # reps per minute
