"""What an MP4 holds, read from its boxes (ISO/IEC 14496-12, the ISO base media file format).

ffmpeg from the layer ships no ffprobe; the few facts assembly and its tests need (top-level box
order for `+faststart`, each track's handler, codec, frame size and duration) are read here
directly: `moov` > `mvhd`; `trak` > `tkhd` (width/height, 16.16 fixed point), `mdia` > `mdhd`
(timescale, duration), `hdlr` (handler type), `minf` > `stbl` > `stsd` (the sample entry's
four-character code: `avc1` H.264, `mp4a` AAC, `tx3g` 3GPP timed text as ffmpeg's mov_text).

`disable_tracks` clears a track's `tkhd` flag track_enabled (0x000001) in place: FFmpeg's MP4
muxer enables the first track of each media type when none is marked default (libavformat/movenc.c
`enable_tracks`, whatever `-disposition` says), and players (QuickTime, iOS; ffmpeg reports it as
`(default)`) show an enabled text track. Only the flag byte changes, so no offset moves.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from contentgen.errors import ContentgenError

TKHD_TRACK_ENABLED = 0x000001  # ISO/IEC 14496-12 8.3.2: tkhd flags
_CONTAINERS = frozenset({b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf"})


class Mp4FormatError(ContentgenError):
    """The file is not an MP4 this module can read (truncated or not ISO BMFF)."""

    code = "invalid_mp4"


@dataclass(frozen=True)
class Box:
    """A box: its four-character `kind`, byte `offset` in the file, total `size` and header size."""

    kind: str
    offset: int
    size: int
    header: int


@dataclass(frozen=True)
class Track:
    """One track: `handler` (`vide`, `soun`, `sbtl`/`text`), `codec` (sample entry code), frame
    size (0 for audio/text), `duration_s` from its media header and `enabled` (tkhd's
    track_enabled flag: a player shows/plays it by default)."""

    handler: str
    codec: str
    width: int
    height: int
    duration_s: float
    enabled: bool = True


@dataclass(frozen=True)
class Mp4Info:
    """The movie: top-level box order, `duration_s` (movie header) and its tracks."""

    boxes: tuple[str, ...]
    duration_s: float
    tracks: tuple[Track, ...]

    @property
    def faststart(self) -> bool:
        """True when `moov` comes before `mdat` (a player can start before the download ends)."""
        return (
            "moov" in self.boxes
            and "mdat" in self.boxes
            and self.boxes.index("moov") < self.boxes.index("mdat")
        )

    def tracks_of(self, handler: str) -> list[Track]:
        """The tracks whose handler is `handler`."""
        return [track for track in self.tracks if track.handler == handler]


def _boxes(stream: BinaryIO, start: int, end: int) -> list[Box]:
    found = []
    offset = start
    while offset + 8 <= end:
        stream.seek(offset)
        size, kind = struct.unpack(">I4s", stream.read(8))
        header = 8
        if size == 1:
            (size,) = struct.unpack(">Q", stream.read(8))
            header = 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            raise Mp4FormatError(f"box {kind!r} at {offset} overruns its parent ({size} bytes)")
        found.append(Box(kind.decode("latin-1"), offset, size, header))
        offset += size
    return found


def top_level_boxes(path: Path) -> list[Box]:
    """The file's top-level boxes in order (`ftyp`, `moov`, `mdat`, ...)."""
    with path.open("rb") as stream:
        return _boxes(stream, 0, path.stat().st_size)


def probe(path: Path) -> Mp4Info:
    """Read the movie and track headers of an MP4 file. Raises Mp4FormatError when unreadable."""
    with path.open("rb") as stream:
        top = _boxes(stream, 0, path.stat().st_size)
        moov = next((box for box in top if box.kind == "moov"), None)
        if moov is None:
            raise Mp4FormatError(f"{path.name} has no moov box")
        children = _boxes(stream, moov.offset + moov.header, moov.offset + moov.size)
        duration = 0.0
        tracks = []
        for child in children:
            if child.kind == "mvhd":
                duration = _header_duration(_payload(stream, child))
            elif child.kind == "trak":
                tracks.append(_track(stream, child))
    return Mp4Info(tuple(box.kind for box in top), duration, tuple(tracks))


def _payload(stream: BinaryIO, box: Box) -> bytes:
    stream.seek(box.offset + box.header)
    return stream.read(box.size - box.header)


def _header_duration(payload: bytes) -> float:
    """mvhd/mdhd: version 1 has 64-bit times; timescale follows creation and modification time."""
    if payload[0] == 1:
        timescale, duration = struct.unpack(">IQ", payload[20:32])
    else:
        timescale, duration = struct.unpack(">II", payload[12:20])
    return duration / timescale if timescale else 0.0


def _find(stream: BinaryIO, parent: Box, path: list[str]) -> Box | None:
    children = _boxes(stream, parent.offset + parent.header, parent.offset + parent.size)
    for child in children:
        if child.kind == path[0]:
            return child if len(path) == 1 else _find(stream, child, path[1:])
    return None


def _track(stream: BinaryIO, trak: Box) -> Track:
    width = height = 0
    enabled = False
    tkhd = _find(stream, trak, ["tkhd"])
    if tkhd is not None:
        payload = _payload(stream, tkhd)
        width, height = (value >> 16 for value in struct.unpack(">II", payload[-8:]))
        enabled = bool(int.from_bytes(payload[1:4], "big") & TKHD_TRACK_ENABLED)
    mdhd = _find(stream, trak, ["mdia", "mdhd"])
    hdlr = _find(stream, trak, ["mdia", "hdlr"])
    stsd = _find(stream, trak, ["mdia", "minf", "stbl", "stsd"])
    handler = _payload(stream, hdlr)[8:12].decode("latin-1") if hdlr else ""
    codec = ""
    if stsd is not None:
        payload = _payload(stream, stsd)
        if len(payload) >= 16:
            codec = payload[12:16].decode("latin-1")  # version+flags, entry count, entry size, code
    duration = _header_duration(_payload(stream, mdhd)) if mdhd else 0.0
    return Track(handler, codec, width, height, duration, enabled)


def disable_tracks(path: Path, handler: str) -> int:
    """Clear the track_enabled flag of every track whose handler is `handler` (e.g. `sbtl`), in
    place; the track stays in the movie (a player lists it, off until chosen). Returns how many
    tracks were changed. Raises Mp4FormatError when the file is unreadable."""
    changed = 0
    with path.open("r+b") as stream:
        top = _boxes(stream, 0, path.stat().st_size)
        moov = next((box for box in top if box.kind == "moov"), None)
        if moov is None:
            raise Mp4FormatError(f"{path.name} has no moov box")
        for trak in _boxes(stream, moov.offset + moov.header, moov.offset + moov.size):
            if trak.kind != "trak":
                continue
            hdlr = _find(stream, trak, ["mdia", "hdlr"])
            tkhd = _find(stream, trak, ["tkhd"])
            if hdlr is None or tkhd is None or _payload(stream, hdlr)[8:12].decode("latin-1") != handler:
                continue
            stream.seek(tkhd.offset + tkhd.header + 1)  # version (1 byte), then 24-bit flags
            flags = int.from_bytes(stream.read(3), "big")
            if flags & TKHD_TRACK_ENABLED:
                stream.seek(tkhd.offset + tkhd.header + 1)
                stream.write((flags & ~TKHD_TRACK_ENABLED).to_bytes(3, "big"))
                changed += 1
    return changed
