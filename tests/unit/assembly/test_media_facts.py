"""The MP4 box reader, the WAV facts, the toolchain's settings and assembly's planning, without
running ffmpeg."""

from __future__ import annotations

import math
import os
import struct
import wave
from pathlib import Path

import pytest

from contentgen.assembly import (
    Cue,
    Mp4FormatError,
    SegmentInput,
    ShortSpec,
    Toolchain,
    frame_size,
    planned_duration,
    probe,
    speech_bounds,
    top_level_boxes,
    wav_info,
)
from contentgen.assembly.render import (
    AVERAGE_CHAR_EM,
    MARGIN_LEFT,
    MARGIN_RIGHT,
    _ass_text,
    caption_font_size,
)
from contentgen.errors import ConfigurationError, InvalidRequestError


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def full(version: int, payload: bytes) -> bytes:
    return bytes([version, 0, 0, 0]) + payload


def track(handler: bytes, codec: bytes, width: int, height: int, timescale: int, duration: int) -> bytes:
    tkhd = box(b"tkhd", full(0, bytes(76) + struct.pack(">II", width << 16, height << 16)))
    mdhd = box(b"mdhd", full(0, struct.pack(">IIII", 0, 0, timescale, duration) + bytes(4)))
    hdlr = box(b"hdlr", full(0, bytes(4) + handler + bytes(12) + b"name\x00"))
    entry = struct.pack(">I4s", 16, codec) + bytes(8)
    stsd = box(b"stsd", full(0, struct.pack(">I", 1) + entry))
    minf = box(b"minf", box(b"stbl", stsd))
    return box(b"trak", tkhd + box(b"mdia", mdhd + hdlr + minf))


def movie(faststart: bool = True) -> bytes:
    mvhd = box(b"mvhd", full(1, bytes(16) + struct.pack(">IQ", 1000, 33_900) + bytes(80)))
    moov = box(
        b"moov",
        mvhd
        + track(b"vide", b"avc1", 1080, 1920, 15360, 520_704)
        + track(b"soun", b"mp4a", 0, 0, 48000, 1_627_200),
    )
    ftyp = box(b"ftyp", b"isom" + bytes(4) + b"isomavc1")
    large_mdat = struct.pack(">I4sQ", 1, b"mdat", 16 + 4) + b"data"
    return ftyp + (moov + large_mdat if faststart else large_mdat + moov)


def test_probe_reads_tracks_duration_and_box_order(tmp_path: Path) -> None:
    path = tmp_path / "a.mp4"
    path.write_bytes(movie())
    info = probe(path)
    assert info.boxes == ("ftyp", "moov", "mdat")
    assert info.faststart
    assert info.duration_s == pytest.approx(33.9)
    video, audio = info.tracks
    assert (video.handler, video.codec, video.width, video.height) == ("vide", "avc1", 1080, 1920)
    assert video.duration_s == pytest.approx(33.9)
    assert (audio.handler, audio.codec) == ("soun", "mp4a")
    assert audio.duration_s == pytest.approx(33.9)


def test_moov_after_mdat_is_not_faststart(tmp_path: Path) -> None:
    path = tmp_path / "b.mp4"
    path.write_bytes(movie(faststart=False))
    assert [b.kind for b in top_level_boxes(path)] == ["ftyp", "mdat", "moov"]
    assert not probe(path).faststart


@pytest.mark.parametrize(
    "data",
    [struct.pack(">I4s", 4096, b"ftyp") + b"isom", box(b"ftyp", b"isom") + box(b"mdat", b"x")],
    ids=["box overruns the file", "no moov"],
)
def test_a_truncated_or_moov_less_file_is_a_format_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "c.mp4"
    path.write_bytes(data)
    with pytest.raises(Mp4FormatError):
        probe(path)


def write_wav(path: Path, parts: list[tuple[float, int]], rate: int = 16_000, width: int = 2) -> Path:
    """Consecutive (seconds, amplitude) parts of a 300 Hz tone (amplitude 0: silence)."""
    values: list[int] = []
    for seconds, amplitude in parts:
        start = len(values)
        values += [
            round(amplitude * math.sin(2 * math.pi * 300 * (start + i) / rate))
            for i in range(round(seconds * rate))
        ]
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        if width == 2:
            writer.writeframes(struct.pack(f"<{len(values)}h", *values))
        else:
            writer.writeframes(bytes(128 + v // 256 for v in values))
    return path


def test_wav_info_and_speech_bounds(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "n.wav", [(0.5, 0), (2.0, 10_000), (0.3, 0)])
    assert wav_info(path).duration_s == pytest.approx(2.8)
    start, end = speech_bounds(path)
    assert start == pytest.approx(0.5, abs=0.03)
    assert end == pytest.approx(2.5, abs=0.03)


def test_speech_bounds_of_silence_or_8_bit_audio_is_the_whole_file(tmp_path: Path) -> None:
    assert speech_bounds(write_wav(tmp_path / "s.wav", [(1.0, 0)])) == pytest.approx((0.0, 1.0))
    eight = write_wav(tmp_path / "e.wav", [(0.5, 0), (0.5, 10_000)], width=1)
    assert speech_bounds(eight) == pytest.approx((0.0, 1.0))


def test_a_file_that_is_not_a_wav_is_refused_by_field(tmp_path: Path) -> None:
    bad = tmp_path / "x.wav"
    bad.write_bytes(b"ID3 mp3 data")
    with pytest.raises(InvalidRequestError) as caught:
        wav_info(bad, "segments[2].narration")
    assert caught.value.field == "segments[2].narration"
    with pytest.raises(InvalidRequestError, match="no such file"):
        wav_info(tmp_path / "missing.wav")


def test_toolchain_settings_win_and_missing_ones_are_named(tmp_path: Path) -> None:
    ffmpeg = tmp_path / "ffmpeg"
    ffmpeg.write_text("#!/bin/sh\n")
    ffmpeg.chmod(0o755)
    font = tmp_path / "font.ttf"
    font.write_bytes(b"font")
    tools = Toolchain.locate({"FFMPEG_PATH": str(ffmpeg), "CAPTION_FONT_FILE": str(font)})
    assert (tools.ffmpeg, tools.font_file) == (ffmpeg, font)
    with pytest.raises(ConfigurationError, match="FFMPEG_PATH"):
        Toolchain.locate({"FFMPEG_PATH": str(tmp_path / "none")})
    with pytest.raises(ConfigurationError, match="CAPTION_FONT_FILE"):
        Toolchain.locate({"FFMPEG_PATH": str(ffmpeg), "CAPTION_FONT_FILE": str(tmp_path / "none.ttf")})


def test_locally_the_toolchain_is_imageio_ffmpeg_and_debians_font() -> None:
    tools = Toolchain.locate({})
    assert os.access(tools.ffmpeg, os.X_OK)
    assert tools.font_file.name == "DejaVuSans-Bold.ttf"


def test_frame_sizes_and_the_planned_length(tmp_path: Path) -> None:
    assert [frame_size(a) for a in ("9:16", "16:9", "1:1")] == [(1080, 1920), (1920, 1080), (1080, 1080)]
    still = tmp_path / "s.png"
    still.write_bytes(b"png")
    narration = write_wav(tmp_path / "n.wav", [(2.0, 5000)])
    spec = ShortSpec(
        (SegmentInput(still, narration), SegmentInput(still, silent_s=1.25)), "Title", title_s=1.5
    )
    assert planned_duration(spec) == pytest.approx(1.5 + (2.0 + 0.4) + (1.25 + 0.4), abs=1 / 60)
    assert planned_duration(ShortSpec(spec.segments, "  ")) == pytest.approx(
        4.05, abs=1 / 60
    )  # no title, no card
    bad_cue = SegmentInput(still, narration, (Cue(-0.5, 1.0, ("x",)),))
    with pytest.raises(InvalidRequestError) as caught:
        planned_duration(ShortSpec((bad_cue,), "t"))
    assert caught.value.field == "segments[0].cues"
    with pytest.raises(InvalidRequestError) as caught:
        planned_duration(ShortSpec((SegmentInput(still),), "t", language="english"))
    assert caught.value.field == "language"


@pytest.mark.parametrize(("width", "height"), [(1080, 1920), (1920, 1080), (1080, 1080)])
def test_caption_font_size_fits_the_widest_line_in_the_safe_width(width: int, height: int) -> None:
    cues = [Cue(0, 1, ("x" * 42,))]
    size = caption_font_size(width, height, cues)
    assert size * AVERAGE_CHAR_EM * 42 <= width * (1 - MARGIN_LEFT - MARGIN_RIGHT)
    assert size >= 30  # still large on a phone


def test_ass_text_cannot_inject_override_tags() -> None:
    assert _ass_text("a {\\b1} b\\Nc\nsecond") == "a \uff5b\uff3cb1\uff5d b\uff3cNc\\Nsecond"
