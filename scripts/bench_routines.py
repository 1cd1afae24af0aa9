"""Routines the bench generates: timed sessions, one at the language's bounds, and lines."""

from __future__ import annotations

from pathlib import Path

# Lengths of the parts of the generated routine, calibrated against built timelines.
FRAME_SECONDS = 30.0  # the opening line, the closing step and the bell
ITEM_SECONDS = 80.0  # one loop item without its reps (speech, breaths, hold, between)
REP_SECONDS = 4.0  # 15 reps per minute
TYPICAL_REPS = 20
PARTS = [
    "calf", "shin", "thigh", "hamstring", "hip", "glute",
    "lower back", "upper back", "shoulder blade", "shoulder", "forearm", "neck",
]  # fmt: skip
SIDES = ("left", "right")
# The bounds routine: SPOTS x ZONES lines of its own, each followed by a run of fast reps.
BOUND_ZONES = 70  # a `for` list holds at most 100 items
BOUND_SPOTS = 70  # 70 x 70 = 4,900 spoken lines, of the 5,000 the language allows
BOUND_REPS = 5  # x 3 beats: 15 clicks, 3 beat words, the last count and the line: 20 events
TEMPLATES = [
    "Place the ball under {zone} and let your weight sink in.",
    "Keep breathing slowly while the ball finds {zone}.",
    "Roll a little higher on {zone}, slowly.",
    "Now rest on {zone} and stay still.",
    "Press gently into {zone} and hold.",
    "Ease off {zone} and take a breath.",
]


def zones(count: int) -> list[str]:
    """`count` distinct loop items ("the left calf", ...), a round number once they repeat."""
    names = [f"the {side} {part}" for part in PARTS for side in SIDES]
    out = []
    for index in range(count):
        name = names[index % len(names)]
        out.append(name if index < len(names) else f"{name} round {index // len(names) + 1}")
    return out


def routine_text(title: str, minutes: float) -> str:
    """A realistic routine of about `minutes`: a step per loop item, every kind of cue."""
    body = minutes * 60 - FRAME_SECONDS
    count = max(1, round(body / (ITEM_SECONDS + TYPICAL_REPS * REP_SECONDS)))
    reps = max(1, round((body / count - ITEM_SECONDS) / REP_SECONDS))
    return f"""title: {title}
tempo: 15 per minute
rate: 150 wpm

say: Find a quiet spot with a little floor space and a firm ball.

for zone in: {", ".join(zones(count))}:
    step Release {{zone}}:
        say: Place the ball under {{zone}} and let your weight sink in.
        say: Keep breathing slowly while the ball finds the tight spot in {{zone}}.
        breathe 3 times: in 4s, out 6s hiss
        repeat {reps} times:
            beat: up
            beat: down
            count every 5
        say: Now rest on {{zone}} and stay still.
        hold 30s, countdown 5
between:
    say: Good. Lift off the ball and shake it out.
    pause 3s

step Finish:
    say: Roll off the ball and lie flat for a moment.
    breathe 2 times: in 4s, out 6s
    say: Well done.
"""


def bounds_text(area_count: int = BOUND_ZONES, spot_count: int = BOUND_SPOTS) -> str:
    """A routine at the language's bounds (with the default counts): 4,900 distinct lines of
    its own (with coach's words, just under the 5,000 allowed) and about 98,000 events, most
    of them metronome clicks of short fast runs of reps, in about 3.6 hours (the bound is 4)."""
    names = [f"{side} {part}" for part in PARTS for side in SIDES]
    areas = [f"{names[i % len(names)]} {i // len(names) + 1}" for i in range(area_count)]
    spots = [f"spot {i + 1}" for i in range(spot_count)]
    return f"""title: Bench bounds
tempo: 240 per minute
rate: 300 wpm
gap: 0.2s

for area in: {", ".join(areas)}:
    step Work the {{area}}:
        for spot in: {", ".join(spots)}:
            say: {{area}}, {{spot}}.
            repeat {BOUND_REPS} times:
                beat: in
                beat: out
                beat: rest
                count every {BOUND_REPS}
"""


def unique_lines(count: int) -> list[str]:
    """`count` distinct short lines like a routine's, each ending in a full stop."""
    out: list[str] = []
    places = zones(len(PARTS) * len(SIDES))
    round_number = 1
    while len(out) < count:
        for template in TEMPLATES:
            for place in places:
                line = template.format(zone=place)
                out.append(line if round_number == 1 else f"{line[:-1]}, round {round_number}.")
        round_number += 1
    return out[:count]


def lines_text(lines: list[str], rate: int) -> str:
    """A routine that says each of `lines` once, and nothing else of its own."""
    body = "\n".join(f"say: {line}" for line in lines)
    return f"title: Bench lines\nrate: {rate} wpm\n\n{body}\n"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.routine"
    path.write_text(text, encoding="utf-8")
    return path
