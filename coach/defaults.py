"""Defaults: the settings a routine gets when neither it nor the command line sets them."""

from __future__ import annotations

DEFAULT_TEMPO_PERIOD = 4.0  # seconds per rep: 15 reps per minute
DEFAULT_RATE = 150  # speech rate, words per minute
DEFAULT_GAP = 0.6  # seconds of silence after each spoken line
DEFAULT_VOICE: str | None = None  # the speech engine's own default voice
