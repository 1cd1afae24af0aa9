"""Steps in live playback: finding one by name or number, and where next and back lead."""

from __future__ import annotations

import bisect
import time

from coach.timeline import Timeline

Range = tuple[int, int]  # [start, end) in samples

BACK_TWICE_SECONDS = 1.5  # `back` again within this long goes to the step before
NOTE_SECONDS = 2.0  # how long a note ("already at the last step") stays


class Navigator:
    """Where `next` and `back` lead in a play order (ranges played one after another, each
    a part of the session), remembering the last `back` so that two quick ones go to the
    step before."""

    def __init__(self, timeline: Timeline) -> None:
        self._stops = sorted(
            {0} | {c.start for c in timeline.chapters if 0 <= c.start < timeline.length}
        )
        self._last_back: tuple[float, int] | None = None
        self._note: tuple[str, float] | None = None

    def note(self) -> str:
        """Why the last command did nothing, while it is fresh; else empty."""
        note = self._note
        if note is not None and time.monotonic() - note[1] < NOTE_SECONDS:
            return note[0]
        return ""

    def navigate(
        self, name: str, pressed: float, ranges: list[Range], index: int, position: int
    ) -> list[Range] | None:
        """Where one `next` or `back` leads: the new play order, or None to stay."""
        last = index >= len(ranges) - 1
        if name == "next":
            if not last:
                return ranges[index + 1 :]
            range_end = ranges[index][1]
            target = next((s for s in self._stops if position < s < range_end), None)
            if target is None:
                self._note = ("already at the last step", time.monotonic())
                return None
            return [(target, range_end)]
        if not last:  # back in the lead-in: hear it again from its start
            self._last_back = None
            return ranges[index:]
        stops = self._stops
        if self._last_back is not None and pressed - self._last_back[0] <= BACK_TWICE_SECONDS:
            previous = bisect.bisect_right(stops, self._last_back[1]) - 1
            target = stops[max(previous - 1, 0)]
        else:
            target = stops[max(bisect.bisect_right(stops, position) - 1, 0)]
        self._last_back = (pressed, target)
        return [(target, ranges[index][1])]


def find_step(timeline: Timeline, wanted: str) -> int:
    """The index of the chapter `wanted` names: its 1-based number, its name (any case), or
    a beginning of the name that only one step has. ValueError, listing the steps, if none."""
    chapters = timeline.chapters
    if not chapters:
        raise ValueError(f"{timeline.title} has no steps to start from")
    listing = "\n".join(f"  {n:>2}  {c.name}" for n, c in enumerate(chapters, 1))
    text = " ".join(wanted.split())
    if text.isdigit():
        number = int(text)
        if 1 <= number <= len(chapters):
            return number - 1
        raise ValueError(f"there is no step {number}. The steps are:\n{listing}")
    key = text.casefold()
    exact = [i for i, c in enumerate(chapters) if c.name.casefold() == key]
    if len(exact) == 1:
        return exact[0]
    found = exact or [
        i for i, c in enumerate(chapters) if key and c.name.casefold().startswith(key)
    ]
    if len(found) == 1:
        return found[0]
    if found:
        numbers = ", ".join(str(i + 1) for i in found)
        raise ValueError(
            f"{wanted!r} could be steps {numbers}; give more of the name, or the number. "
            f"The steps are:\n{listing}"
        )
    raise ValueError(f"no step is called {wanted!r}. The steps are:\n{listing}")
