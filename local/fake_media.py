"""Small but real media files for the emulator: PNG images and an MP4-shaped video blob."""

from __future__ import annotations

import hashlib
import struct
import zlib

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


def mp4(prompt: str) -> bytes:
    """An MP4-shaped blob (an `ftyp` box and a payload): enough to store, name and download."""
    payload = hashlib.sha256(prompt.encode()).digest() * 64
    ftyp = struct.pack(">I", 24) + b"ftypisom" + b"\x00\x00\x02\x00" + b"isomiso2"
    return ftyp + struct.pack(">I", 8 + len(payload)) + b"mdat" + payload
