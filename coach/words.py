"""Coach's own words: the cues it speaks itself, in one place for the checker and the compiler."""

from __future__ import annotations

HALFWAY = "Halfway."
HOLD = "Hold."
# Whole words: a bare "In." is never heard as such with eyes closed, over a metronome (the
# listening review of ROUTINES.md).
BREATHE_IN = "Breathe in."
BREATHE_OUT = "Breathe out."
LAST_BREATH_IN = "Last one. Breathe in."


def breath_words(count: int) -> list[str]:
    """The distinct cues of `count` breaths, as the compiler speaks them."""
    words = [BREATHE_IN, BREATHE_OUT] if count else []
    return words + ([LAST_BREATH_IN] if count > 2 else [])
