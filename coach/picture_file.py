"""Writing a session's picture to a file: SVG as drawn, PNG through ffmpeg's SVG rasterizer."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

from coach.atomic import atomic_write
from coach.diagnostics import ExportError

FORMATS = ("svg", "png")
#: A picture is drawn in well under a second; ffmpeg gets this long to rasterize it.
PNG_SECONDS = 120


def check_picture_target(path: Path, inputs: Iterable[str | Path] = ()) -> Path:
    """Where a picture written to `path` goes; ExportError unless its name ends in .svg or
    .png and it may be written (as an export's audio file: coach.export)."""
    from coach.export import writable_target

    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        not_this = f" (not .{suffix})" if suffix else ""
        raise ExportError(f"cannot draw {path}: name the picture .svg or .png{not_this}")
    return writable_target(path, inputs)


def write_picture(svg: str, path: Path) -> None:
    """Write the SVG document `svg` to `path`, as PNG if its name says so, atomically."""
    try:
        with atomic_write(path) as out:
            if path.suffix.lower() == ".svg":
                out.file.write(svg.encode("utf-8"))
                return
            _rasterize(svg, out.temp)  # by name, into the temporary file (left open)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None


def _rasterize(svg: str, png: Path) -> None:
    from coach.soundfile import find_ffmpeg

    # ffmpeg's SVG demuxer reads a file, not a pipe: the drawing goes to one of its own.
    with tempfile.NamedTemporaryFile(suffix=".svg", prefix="coach-picture-") as drawn:
        drawn.write(svg.encode("utf-8"))
        drawn.flush()
        command = [
            find_ffmpeg(), "-hide_banner", "-nostdin", "-v", "error", "-y",
            "-f", "svg_pipe", "-i", f"file:{drawn.name}", "-frames:v", "1",
            "-f", "image2", "-c:v", "png", f"file:{png}",
        ]  # fmt: skip
        try:
            done = subprocess.run(command, capture_output=True, timeout=PNG_SECONDS)
        except subprocess.TimeoutExpired:
            raise ExportError(f"ffmpeg took more than {PNG_SECONDS} s to draw the PNG") from None
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = f": {said[-1]}" if said else ""
        raise ExportError(
            f"ffmpeg could not draw the PNG{detail}; its SVG decoder (librsvg) may be "
            "missing: write .svg instead"
        )
