"""`coach play`'s memory: --resume, what quitting says, and the summary line at the end."""

from __future__ import annotations

import shlex
import signal
import sys
from collections.abc import Mapping, Sequence
from contextlib import suppress
from functools import partial
from typing import Any

import click

from coach import resume
from coach.steps import Range
from coach.timeline import Timeline

echo = partial(click.echo, err=True)


def refuse_with_from(resuming: bool, from_step: str | None) -> None:
    """A usage error for --resume with --from: each says where to start."""
    if resuming and from_step is not None:
        raise click.UsageError(
            "--resume and --from cannot be used together: --resume goes on from the step "
            "you stopped in, --from starts at the step you name; choose one"
        )


def timing_values(pacing: Mapping[str, Any], engine: str | None) -> dict[str, Any]:
    """The pacing a resume point is kept per: the settings that shape a session's timeline
    (effective.LENGTH_KEYS; the volumes and the loudness change no timing, and a lead-in only
    comes before the step a resume goes on from), each in effect as `effective.in_effect`
    has it (the command line, else the profile), and --minutes."""
    from coach.effective import LENGTH_KEYS, in_effect
    from coach.profile import load_profile

    given = {key: pacing.get(key.replace("-", "_")) for key in LENGTH_KEYS}
    given["engine"] = engine
    chosen = {key: value for key, value in given.items() if value is not None}
    values = {**in_effect(load_profile(), given), **chosen}
    timing = {key: values.get(key) for key in LENGTH_KEYS}
    timing["minutes"] = pacing.get("minutes")
    return resume.pacing_key(timing)


def start_command(routine: str, argv: Sequence[str]) -> str:
    """The command that starts this session again from the beginning: as typed, without
    --from or --resume."""
    return resume_command(routine, argv, resuming=False)


def resume_command(routine: str, argv: Sequence[str], resuming: bool = True) -> str:
    """The command that resumes this session: as typed (the routine and its options, shell
    quoted), without --from, with --resume (`resuming` False: without it)."""
    words = list(argv[1:])
    ending = ["--resume"] if resuming else []
    plain = shlex.join(["coach", "play", routine, *ending])
    if "play" not in words:
        return plain
    kept: list[str] = []
    skip = False
    for word in words[words.index("play") + 1 :]:
        if skip or word == "--resume" or word.startswith("--from="):
            skip = False
            continue
        if word == "--from":
            skip = True
            continue
        kept.append(word)
    if routine not in kept:  # not this command's words after all (run from another program)
        return plain
    return shlex.join(["coach", "play", *kept, *ending])


class Sitting:
    """One `coach play` of a routine at a pacing, and its resume point in the state."""

    def __init__(self, routine: str, pacing: Mapping[str, Any], engine: str | None) -> None:
        from coach import library

        self.routine = routine
        self.key = resume.routine_key(library.resolve(routine), library.routines_dir())
        self.pacing = timing_values(pacing, engine)
        self.state = resume.State.load(resume.state_path())
        if self.state.note:
            echo(self.state.note)
        self.point: resume.Point | None = None  # the point a resume goes on from

    def lead_in(self, resuming: bool, given: float | None) -> float | None:
        """The lead-in of this sitting: --lead-in, else for a resume the profile's lead-in
        or resume.LEAD_IN (a few seconds to get back into position)."""
        if not resuming or given is not None:
            return given
        from coach.profile import load_profile

        self.point = self.state.find(self.key, self.pacing)
        if self.point is None or self.point.finished:
            return None  # starting over, as a plain play would
        return load_profile().get("lead-in") or resume.LEAD_IN

    def start_step(self, timeline: Timeline) -> str | None:
        """For --resume: the step to start from, as --from takes it (None: the beginning),
        with a note when it is not simply where the session stopped."""
        if self.point is None:
            self.point = self.state.find(self.key, self.pacing)
        start = resume.start_at(timeline, self.point, self.pacing, self.routine)
        if start.note:
            echo(start.note)
        return None if start.step is None else str(start.step + 1)

    def end(
        self,
        timeline: Timeline,
        played: Sequence[Range],
        heading_to: int | None,
        finished: bool,
    ) -> None:
        """Keep where the session stopped (or that it was finished) and say so: for a stop,
        where and how to resume; always, the summary line."""
        from coach.summary import outcome, stop_line, summary_line

        result = outcome(timeline, played, heading_to, finished)
        line = summary_line(timeline, result, heading_to)
        if finished:
            self._keep(resume.Point(self.key, self.pacing, None), timeline)
            _say(f"Done. {line}")
            return
        stopped = stop_line(timeline, result)
        if result.step is not None:
            chapter = timeline.chapters[result.step]
            point = resume.Point(
                self.key, self.pacing, result.step, chapter.name, len(timeline.chapters)
            )
            kept = self._keep(point, timeline)
            how = f"Resume with: {resume_command(self.routine, sys.argv)}" if kept else ""
            _say(f"{stopped}. {how}".rstrip())
        elif result.place == "finishing" and timeline.chapters:
            self._keep(resume.Point(self.key, self.pacing, None), timeline)
            _say(f"{stopped}: the session is complete.")
        else:  # nothing of the routine's steps heard yet: nothing to go on from
            if self.point is not None:  # the place this sitting resumed from is used up
                self._keep(None, timeline)
            # A place kept before a plain play (or at another pacing) is still there.
            again = start_command(self.routine, sys.argv)
            _say(f"{stopped}. Start it again with: {again}" if timeline.chapters else stopped + ".")
        _say(line)

    def _keep(self, point: resume.Point | None, timeline: Timeline) -> bool:
        """Write `point` (None: forget this routine at this pacing) in place of the point
        resumed from; whether it was kept. A state that cannot be written is a note."""
        replacing = [self.point] if self.point is not None else []
        try:
            if point is None:
                self.state.forget(self.key, self.pacing, replacing=replacing)
            else:
                self.state.remember(point, replacing=replacing)
        except OSError as error:
            reason = error.strerror or str(error)
            _say(f"note: could not remember where you stopped in {self.state.path}: {reason}")
            return False
        return True


def _say(text: str) -> None:
    # After SIGHUP the terminal may be gone: then there is no one to tell.
    with suppress(OSError, ValueError):
        echo(text)


def exit_stopped(interrupt: KeyboardInterrupt) -> None:
    """Exit as a command stopped by `interrupt` does (128 + the signal's number), after the
    stop was already told."""
    signum = getattr(interrupt, "signum", signal.SIGINT)
    sys.exit(128 + int(signum))
