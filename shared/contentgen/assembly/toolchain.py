"""Where ffmpeg and the caption font are: in AWS, the FfmpegLayer; locally, imageio-ffmpeg.

The FfmpegLayer (`shared/build_layer.py ffmpeg`) puts the static ffmpeg of the `imageio-ffmpeg`
wheel for linux aarch64 at `/opt/bin/ffmpeg` (Lambda mounts layers at /opt and puts /opt/bin on
PATH) and DejaVu Sans Bold (Debian's fonts-dejavu-core) at `/opt/fonts/`. Settings, in order:
`FFMPEG_PATH` / `CAPTION_FONT_FILE` when set, else those layer paths when present, else (local)
`imageio_ffmpeg.get_ffmpeg_exe()` and Debian's font file.
"""

from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from contentgen.errors import ConfigurationError

LAYER_FFMPEG = Path("/opt/bin/ffmpeg")
LAYER_FONT = Path("/opt/fonts/DejaVuSans-Bold.ttf")
DEBIAN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
FONT_FAMILY = "DejaVu Sans"  # the family name inside DejaVuSans-Bold.ttf (bold face)


@dataclass(frozen=True)
class Toolchain:
    """The ffmpeg executable and the font file captions and the title card are drawn with."""

    ffmpeg: Path
    font_file: Path
    font_family: str = FONT_FAMILY

    @classmethod
    def locate(cls, environ: Mapping[str, str] | None = None) -> Toolchain:
        """Find ffmpeg and the font (see the module docstring for the order).

        Raises ConfigurationError naming FFMPEG_PATH or CAPTION_FONT_FILE when none is usable.
        """
        env = os.environ if environ is None else environ
        ffmpeg = _first_file(
            [Path(env["FFMPEG_PATH"])] if env.get("FFMPEG_PATH") else [LAYER_FFMPEG, *_local_ffmpeg()]
        )
        if ffmpeg is None or not os.access(ffmpeg, os.X_OK):
            raise ConfigurationError(
                "FFMPEG_PATH: no executable ffmpeg (set it, attach the FfmpegLayer, or install imageio-ffmpeg)"
            )
        font = _first_file(
            [Path(env["CAPTION_FONT_FILE"])] if env.get("CAPTION_FONT_FILE") else [LAYER_FONT, DEBIAN_FONT]
        )
        if font is None:
            raise ConfigurationError(
                "CAPTION_FONT_FILE: no font file (set it, attach the FfmpegLayer, or apt-get install fonts-dejavu-core)"
            )
        return cls(ffmpeg, font)


def _local_ffmpeg() -> list[Path]:
    """imageio-ffmpeg's binary when the package is installed (development), else ffmpeg on PATH.

    Imported on demand: Lambda has the layer's binary and not this package."""
    found = []
    try:
        module = importlib.import_module("imageio_ffmpeg")
        found.append(Path(module.get_ffmpeg_exe()))
    except (ImportError, RuntimeError):
        pass
    on_path = shutil.which("ffmpeg")
    if on_path:
        found.append(Path(on_path))
    return found


def _first_file(candidates: list[Path]) -> Path | None:
    return next((path for path in candidates if path.is_file()), None)
