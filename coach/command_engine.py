"""Engines run as one command a line: the shared adapter, and any command-line TTS as a template."""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

from coach.diagnostics import SpeechError
from coach.engine import (
    LIMIT_SECONDS,
    Voice,
    excerpt,
    spoken_text,
    time_limit,
    write_clip,
)
from coach.plan import SpeechLine

#: Where a command template wants the WAV file written.
OUT = "{out}"
#: Where a command template wants the routine's language (its `language:` code: en, de, fr,
#: es), so that one template can choose a voice or model per language. Optional.
LANGUAGE = "{language}"


class ExternalEngine:
    """An engine that runs a program once for each line, with no shell, as a speech worker is
    run (coach.synthesis.run_command): under the line's time limit, killed on a hang, a crash
    said of the line. The program writes a brand-new temporary file beside the clip, which is
    checked and then renamed over it, so a failure never leaves an older file as the result.

    Subclasses give `name`, `label` (for messages), `version`, `voices`, `check_voice` and
    `command` (the argument list and what goes on the program's stdin).
    """

    name = "external"
    label = "external"

    def __init__(self, timeout: float = LIMIT_SECONDS) -> None:
        self.timeout = timeout

    def command(self, line: SpeechLine, text: str, out: Path) -> tuple[list[str], bytes]:
        raise NotImplementedError

    def time_limit(self, text: str) -> float:
        return time_limit(text, self.timeout)

    def synthesize(self, line: SpeechLine, path: Path) -> None:
        from coach import synthesis

        text = spoken_text(line)

        def run(fresh: Path) -> None:
            argv, stdin = self.command(line, text, fresh)
            try:
                synthesis.run_command(argv, stdin, self.time_limit(text))
            except synthesis.WorkerFailed as exc:
                raise SpeechError(
                    f"the {self.label} engine {exc.reason} saying {excerpt(text)!r}"
                ) from None

        write_clip(path, text, run)


def program_version(program: str) -> str:
    """What identifies an installed program's build: its path, size and modification time."""
    found = shutil.which(program)
    if found is None:
        raise SpeechError(f"{program!r} is not installed (not found on PATH)")
    info = os.stat(found)
    return f"{found} {info.st_size} {info.st_mtime_ns}"


class CommandEngine(ExternalEngine):
    """Any command-line TTS, given as a template: `piper --model M --output_file {out}`.

    The template is split like a shell would (shlex) but run with no shell; `{out}` in any
    argument becomes the path of the WAV file to write, `{language}` (optional) the routine's
    language code (en, de, fr or es: `--model voices/{language}.onnx` picks a model per
    language), and the text goes on its stdin (UTF-8). It has one voice, the command's own,
    and cannot change rate or pitch: put those in the command. Its cache identity is the
    template and the program's path, size and modification time (an upgrade changes them).
    """

    label = "command"

    def __init__(self, template: str, timeout: float = LIMIT_SECONDS) -> None:
        super().__init__(timeout)
        try:
            argv = shlex.split(template)
        except ValueError as exc:
            raise SpeechError(f"cannot read the engine command {template!r}: {exc}") from None
        if not argv:
            raise SpeechError("the engine command is empty")
        if not any(OUT in arg for arg in argv):
            raise SpeechError(
                f"the engine command {template!r} has no {OUT}: write {OUT} where the "
                f"command takes its output WAV file, e.g. 'piper --model M --output_file {OUT}'"
            )
        self.template = template
        self.argv = argv
        self.name = f"command {template}"
        self.label = f"command {argv[0]!r}"
        self._version: str | None = None
        self.version()  # a program that is not installed is said at once

    def version(self) -> str:
        if self._version is None:
            try:
                self._version = program_version(self.argv[0])
            except SpeechError as error:
                raise SpeechError(f"the engine command cannot run: {error}") from None
        return self._version

    def voices(self) -> list[Voice]:
        return []

    def check_voice(self, voice: str) -> None:
        raise SpeechError(
            f"unknown voice {voice!r}: an engine command has one voice, its own; "
            "choose the voice in the command itself"
        )

    def command(self, line: SpeechLine, text: str, out: Path) -> tuple[list[str], bytes]:
        if line.voice is not None:
            self.check_voice(line.voice)
        # The language first, so a path that happens to hold "{language}" is left as it is.
        argv = [arg.replace(LANGUAGE, line.language).replace(OUT, str(out)) for arg in self.argv]
        return argv, text.encode("utf-8")
