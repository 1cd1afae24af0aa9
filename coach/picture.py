"""Picture: a whole session drawn as SVG, so its shape is seen at a glance; pure.

One row each, under a band per chapter: reps as ticks at their real times (accents
taller), breaths as an in/out wave with the hiss shaded, holds as bars with their
countdowns, and spoken lines as marks whose text shows on hover (an SVG <title>). A time
axis in minutes runs along the bottom. Every element has a class naming what it is
("step", "rep", "rep accent", "breath", "hiss", "hold", "countdown", "speech"), so the
picture can be read back (the tests do).
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from coach.timeline import Timeline

WIDTH = 1200
LEFT = 90  # room for the row names
RIGHT = 20
TOP = 44  # under the title
ROW = 44
GAP = 10
ROWS = ("Steps", "Reps", "Breath", "Holds", "Speech")
HEIGHT = TOP + len(ROWS) * (ROW + GAP) + 40
COLOURS = ("#dbe7f3", "#e8f0dc")  # alternate chapter bands
#: Minutes between axis ticks: the smallest that leaves at most 16 of them.
TICK_MINUTES = (0.5, 1, 2, 5, 10, 15, 20, 30, 60)


def picture_svg(timeline: Timeline) -> str:
    """`timeline` drawn as a standalone SVG document."""
    draw = _Drawing(timeline)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{LEFT}" y="24" font-size="16" class="title">{escape(timeline.title)}</text>',
        *draw.labels(),
        *draw.steps(),
        *draw.reps(),
        *draw.breaths(),
        *draw.holds(),
        *draw.speech(),
        *draw.axis(),
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


class _Drawing:
    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self.scale = (WIDTH - LEFT - RIGHT) / max(timeline.length, 1)

    def x(self, sample: int) -> float:
        return round(LEFT + sample * self.scale, 2)

    @staticmethod
    def top(row: str) -> int:
        return TOP + ROWS.index(row) * (ROW + GAP)

    def labels(self) -> list[str]:
        return [
            f'<text x="8" y="{self.top(row) + ROW // 2 + 4}" fill="#555">{row}</text>'
            for row in ROWS
        ]

    def steps(self) -> list[str]:
        top, out = self.top("Steps"), []
        for number, chapter in enumerate(self.timeline.file_chapters()):
            x, end = self.x(chapter.start), self.x(chapter.end)
            clip = f"chapter{number}"
            out += [
                f'<clipPath id="{clip}"><rect x="{x}" y="{top}" width="{end - x}" '
                f'height="{ROW}"/></clipPath>',
                f'<rect x="{x}" y="{top}" width="{end - x}" height="{ROW}" '
                f'fill="{COLOURS[number % 2]}" stroke="white"><title>{escape(chapter.name)}'
                "</title></rect>",
                f'<text x="{x + 4}" y="{top + ROW // 2 + 4}" clip-path="url(#{clip})" '
                f'class="step">{escape(chapter.name)}</text>',
            ]
        return out

    def reps(self) -> list[str]:
        bottom = self.top("Reps") + ROW
        out = []
        for event in self.timeline.events:
            if event.kind == "click":
                tall, kind = (ROW - 4, "rep accent") if event.accent else (ROW // 2, "rep")
                x = self.x(event.start)
                out.append(
                    f'<line x1="{x}" y1="{bottom - tall}" x2="{x}" y2="{bottom}" '
                    f'class="{kind}" stroke="#333" stroke-width="1"/>'
                )
        return out

    def breaths(self) -> list[str]:
        """A wave that rises through each breath in, stays up while it is held, falls
        through the breath out and stays down; a breath out with its hiss is shaded."""
        top = self.top("Breath")
        low, high = top + ROW - 4, top + 4
        out = []
        for phase in self.timeline.phases:
            if phase.kind == "hold":
                continue
            x0, x1 = self.x(phase.start), self.x(phase.end)
            y0 = high if phase.kind in ("hold-in", "out") else low
            y1 = high if phase.kind in ("in", "hold-in") else low
            if phase.hiss:
                out.append(
                    f'<polygon points="{x0},{low} {x0},{y0} {x1},{y1} {x1},{low}" '
                    'class="hiss" fill="#9ecae1" fill-opacity="0.6"/>'
                )
            out.append(
                f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" class="breath {phase.kind}" '
                'stroke="#2b7bb9" stroke-width="1.5"/>'
            )
        return out

    def holds(self) -> list[str]:
        top, rate = self.top("Holds"), self.timeline.sample_rate
        out = []
        for phase in self.timeline.phases:
            if phase.kind != "hold":
                continue
            x0, x1 = self.x(phase.start), self.x(phase.end)
            seconds = (phase.end - phase.start) / rate
            out.append(
                f'<rect x="{x0}" y="{top + 8}" width="{max(x1 - x0, 1)}" height="{ROW - 16}" '
                f'class="hold" fill="#f4b183"><title>hold {seconds:g}s</title></rect>'
            )
            for number in range(phase.countdown, 0, -1):  # "one" in the hold's last second
                x = self.x(phase.end - number * rate)
                out.append(
                    f'<line x1="{x}" y1="{top + 4}" x2="{x}" y2="{top + ROW - 4}" '
                    f'class="countdown" stroke="#c55a11"><title>{number}</title></line>'
                )
        return out

    def speech(self) -> list[str]:
        middle = self.top("Speech") + ROW // 2
        return [
            f'<circle cx="{self.x(event.start)}" cy="{middle}" r="3.5" class="speech" '
            f'fill="#7030a0"><title>{escape(event.text)}</title></circle>'
            for event in self.timeline.events
            if event.kind == "speech"
        ]

    def axis(self) -> list[str]:
        y = self.top("Speech") + ROW + GAP
        minutes = self.timeline.length / self.timeline.sample_rate / 60
        every = next((m for m in TICK_MINUTES if minutes / m <= 16), TICK_MINUTES[-1])
        out = [f'<line x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}" stroke="#555"/>']
        tick = 0.0
        while tick <= minutes + 1e-9:
            x = self.x(round(tick * 60 * self.timeline.sample_rate))
            shown = f"{tick:g}"
            out += [
                f'<line x1="{x}" y1="{y}" x2="{x}" y2="{y + 5}" stroke="#555"/>',
                f'<text x="{x}" y="{y + 18}" text-anchor="middle" class="minute">{shown}</text>',
            ]
            tick += every
        out.append(
            f'<text x="{WIDTH - RIGHT}" y="{y + 32}" text-anchor="end" fill="#555">minutes</text>'
        )
        return out
