"""Standard output that cannot be written: one line and status 1 (`coach list > /dev/full`),
or, when its reader has gone (`coach source NAME | head -1`), a quiet exit with status 141,
as for a program killed by SIGPIPE (what `coach export -o - | head` does too)."""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import click

from coach.cli_signals import SIGPIPE


class StdoutFailed(Exception):
    """Writing standard output failed with `error`. Not an OSError, so that click's own
    handling of a broken pipe (status 1) and any `except OSError` on the way let it through
    to `writing_stdout`."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


class _Guarded:
    """A stream that passes everything to `stream`, with its write errors as StdoutFailed;
    its `buffer` is guarded the same way (`coach source` writes bytes)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, data: Any) -> Any:
        return self._call("write", data)

    def writelines(self, lines: Any) -> Any:
        return self._call("writelines", lines)

    def flush(self) -> Any:
        return self._call("flush")

    @property
    def buffer(self) -> _Guarded:
        return _Guarded(self._stream.buffer)

    def _call(self, name: str, *args: Any) -> Any:
        try:
            return getattr(self._stream, name)(*args)
        except OSError as error:
            raise StdoutFailed(error) from error

    def __getattr__(self, name: str) -> Any:  # fileno, isatty, encoding, ...
        return getattr(self._stream, name)


@contextmanager
def writing_stdout() -> Iterator[None]:
    """While the block runs (a whole coach command, its --help and --version too), a failed
    write to standard output ends it: "Error: cannot write to standard output: REASON" and
    status 1, or for a closed pipe (EPIPE) nothing and status 141. What is still buffered
    is flushed at the end, so that it fails here and not at the interpreter's exit."""
    original = sys.stdout
    if original is None:  # no standard output at all (pythonw): nothing to guard
        yield
        return
    guarded = _Guarded(original)
    sys.stdout = guarded
    try:
        try:
            yield
        finally:
            if sys.stdout is guarded:
                guarded.flush()
    except StdoutFailed as failed:
        _to_devnull(original)
        if failed.error.errno == errno.EPIPE:
            sys.exit(128 + SIGPIPE)
        reason = failed.error.strerror or str(failed.error)
        click.echo(f"Error: cannot write to standard output: {reason}", err=True)
        sys.exit(1)
    finally:
        if sys.stdout is guarded:
            sys.stdout = original


def _to_devnull(stream: Any) -> None:
    """Point the descriptor under `stream` at /dev/null, as Python's documentation advises
    after EPIPE: what is still buffered then goes nowhere at exit, without "Exception
    ignored" noise. A stream without a descriptor (a test's) is left alone."""
    with suppress(AttributeError, OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, stream.fileno())
        finally:
            os.close(devnull)
