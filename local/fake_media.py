"""Small but real media files for the emulator: PNG images and playable MP4 videos."""

from __future__ import annotations

import hashlib
import struct
import subprocess
import tempfile
import zlib
from functools import lru_cache
from pathlib import Path

_SIZES = {"16:9": (160, 90), "9:16": (90, 160), "1:1": (128, 128), "4:3": (128, 96), "3:4": (96, 128)}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png(prompt: str, aspect_ratio: str | None = None) -> bytes:
    """A gradient PNG whose colours come from the prompt and whose shape follows `aspect_ratio`."""
    width, height = _SIZES.get(aspect_ratio or "1:1", _SIZES["1:1"])
    red, green, blue = hashlib.sha256(prompt.encode()).digest()[:3]
    rows = b"".join(
        b"\x00"
        + bytes(
            channel
            for x in range(width)
            for channel in ((red + x) % 256, (green + y) % 256, (blue + (x + y) // 2) % 256)
        )
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows))
        + _chunk(b"IEND", b"")
    )


# Video frame sizes (even, as H.264 with yuv420p needs) per aspect ratio.
_VIDEO_SIZES = {"16:9": (160, 90), "9:16": (90, 160)}


def mp4(prompt: str, aspect_ratio: str | None = None) -> bytes:
    """A tiny, playable H.264 MP4 (half a second, 4 frames at 8 fps, a colour from the prompt)
    of the asked aspect ratio (9:16 by default), encoded without network by the ffmpeg binary
    that the `imageio-ffmpeg` package ships (a development dependency only)."""
    return _encode_mp4(hashlib.sha256(prompt.encode()).hexdigest()[:6], aspect_ratio or "9:16")


@lru_cache(maxsize=64)
def _encode_mp4(colour: str, aspect_ratio: str) -> bytes:
    import imageio_ffmpeg  # type: ignore[import-untyped]

    width, height = _VIDEO_SIZES.get(aspect_ratio, _VIDEO_SIZES["9:16"])
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "video.mp4"
        subprocess.run(
            [
                imageio_ffmpeg.get_ffmpeg_exe(),
                "-hide_banner",
                "-loglevel",
                "error",
                "-f",
                "lavfi",
                "-i",
                f"color=c=0x{colour}:s={width}x{height}:d=0.5:r=8",
                "-c:v",
                "libx264",
                "-pix_fmt",
                "yuv420p",
                "-movflags",
                "+faststart",
                "-y",
                str(target),
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        return target.read_bytes()


SPEECH_RATE = 24_000  # Hz, 16-bit mono: what Gemini TTS answers (contentgen.generation.speech)
WORDS_PER_MINUTE = 150  # DOMAIN.md: narration is spoken at about 150 words a minute


def speech_pcm(text: str) -> bytes:
    """Raw PCM (s16le, mono, 24 kHz) shaped like speech for `text`: per word a voiced burst (a
    pitch from the word, three harmonics, an attack/decay envelope and a little noise) for 80 % of
    0.4 s (150 words a minute), then a short gap. Not silence: captions and loudness checks
    have real signal to find. Deterministic for a text."""
    import math
    import random
    from array import array

    words = text.split() or ["..."]
    word_samples = SPEECH_RATE * 60 // WORDS_PER_MINUTE
    voiced = word_samples * 4 // 5
    samples = array("h")
    for index, word in enumerate(words):
        rng = random.Random(f"{index}:{word}")
        pitch = 110.0 + (sum(map(ord, word)) % 90)
        step = 2 * math.pi * pitch / SPEECH_RATE
        for n in range(voiced):
            envelope = min(1.0, n / 600) * min(1.0, (voiced - n) / 1800)
            tone = math.sin(step * n) + 0.5 * math.sin(2 * step * n) + 0.25 * math.sin(3 * step * n)
            samples.append(int(envelope * (6000 * tone + rng.uniform(-800, 800))))
        samples.extend([0] * (word_samples - voiced))
    return samples.tobytes()
