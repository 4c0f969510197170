"""Narration audio facts read with the standard library: a WAV's duration and its speech span.

Only RIFF/WAVE PCM is read (`wave`, https://docs.python.org/3/library/wave.html): what the TTS
step stores. Speech bounds let syllable-share captions start with the voice, not with the
silence a TTS model often leaves before the first word.
"""

from __future__ import annotations

import array
import sys
import wave
from dataclasses import dataclass
from pathlib import Path

from contentgen.errors import InvalidRequestError

WINDOW_S = 0.02
# A window is speech when its RMS is above this share of the loudest window's (and above a floor).
RELATIVE_THRESHOLD = 0.1
ABSOLUTE_FLOOR = 64.0  # 16-bit sample units (about -54 dBFS)


@dataclass(frozen=True)
class WavInfo:
    """A PCM WAV file's format and length."""

    duration_s: float
    sample_rate: int
    channels: int
    sample_width: int  # bytes per sample


def wav_info(path: Path, field: str = "narration") -> WavInfo:
    """Format and duration of a PCM WAV file.

    Raises InvalidRequestError naming `field` when the file is missing, not PCM WAV, or empty.
    """
    try:
        with wave.open(str(path), "rb") as reader:
            frames, rate = reader.getnframes(), reader.getframerate()
            info = WavInfo(frames / rate if rate else 0.0, rate, reader.getnchannels(), reader.getsampwidth())
    except FileNotFoundError as error:
        raise InvalidRequestError(field, f"no such file {path.name}") from error
    except (wave.Error, EOFError, OSError) as error:
        raise InvalidRequestError(field, f"{path.name} is not a PCM WAV file ({error})") from error
    if info.duration_s <= 0:
        raise InvalidRequestError(field, f"{path.name} holds no audio")
    return info


def speech_bounds(path: Path, field: str = "narration") -> tuple[float, float]:
    """(start_s, end_s) of the speech in a PCM WAV: the first and last 20 ms windows louder than
    a tenth of the loudest window. The whole file when it is not 16-bit or holds no loud window.
    """
    info = wav_info(path, field)
    if info.sample_width != 2:
        return 0.0, info.duration_s
    with wave.open(str(path), "rb") as reader:
        samples = array.array("h", reader.readframes(reader.getnframes()))
    if sys.byteorder == "big":
        samples.byteswap()
    step = max(info.channels, 1) * 4  # every 4th sample of the first channel is enough for energy
    decimated = samples[::step]
    per_window = max(int(info.sample_rate * WINDOW_S / 4), 1)
    seconds_per_value = 4 / info.sample_rate
    windows = []  # (start_s, end_s, rms)
    for begin in range(0, len(decimated), per_window):
        window = decimated[begin : begin + per_window]
        rms = (sum(value * value for value in window) / len(window)) ** 0.5
        windows.append((begin * seconds_per_value, (begin + len(window)) * seconds_per_value, rms))
    loudest = max((rms for _, _, rms in windows), default=0.0)
    threshold = max(loudest * RELATIVE_THRESHOLD, ABSOLUTE_FLOOR)
    loud = [(start, end) for start, end, rms in windows if rms >= threshold]
    if not loud:
        return 0.0, info.duration_s
    return loud[0][0], min(loud[-1][1], info.duration_s)
