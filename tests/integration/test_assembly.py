"""assemble_short with the real ffmpeg (imageio-ffmpeg's static build) on inputs made here:
stills and a clip drawn by ffmpeg's own sources, narrations written with `wave` (a tone of a
known length). The MP4 is checked from its boxes (contentgen.assembly.mp4) and by ffmpeg itself.

Expected length, exactly as designed: title_s + sum(narration + breath_s), each part rounded to
whole frames at 30 fps; asserted to one frame per part, and the narration's share of it within 5 %.
"""

from __future__ import annotations

import math
import re
import struct
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from contentgen.assembly import (
    AssembledShort,
    AssemblyError,
    SegmentInput,
    ShortSpec,
    Toolchain,
    assemble_short,
    build_cues,
    planned_duration,
    probe,
    top_level_boxes,
)
from contentgen.errors import InvalidRequestError

pytestmark = pytest.mark.slow

NARRATIONS = [
    ("The storm came in from the north, and the keeper lit the lamp.", 3.0),
    ("Nobody came. For three nights the light swept the black water.", 2.5),
    ("On the fourth night, a small boat answered.", 2.0),
]
BREATH, TITLE = 0.4, 1.5


def tone(path: Path, seconds: float, rate: int = 24_000) -> Path:
    """A 440 Hz mono 16-bit tone of exactly `seconds`."""
    frames = round(seconds * rate)
    samples = (round(12_000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(frames))
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(struct.pack(f"<{frames}h", *samples))
    return path


def ffmpeg(tools: Toolchain, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(tools.ffmpeg), "-nostdin", "-hide_banner", *args], capture_output=True, check=False
    )


def draw(tools: Toolchain, path: Path, source: str, *extra: str) -> Path:
    done = ffmpeg(tools, "-loglevel", "error", "-y", "-f", "lavfi", "-i", source, *extra, str(path))
    assert done.returncode == 0, done.stderr
    return path


def gray_frame(tools: Toolchain, video: Path, at_s: float, width: int, height: int) -> bytes:
    done = ffmpeg(
        tools, "-loglevel", "error", "-ss", f"{at_s:.3f}", "-i", str(video), "-frames:v", "1",
        "-f", "rawvideo", "-pix_fmt", "gray", "-",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(done.stdout) == width * height
    return done.stdout


def rms_between(tools: Toolchain, video: Path, start_s: float, end_s: float) -> float:
    done = ffmpeg(
        tools, "-loglevel", "error", "-ss", f"{start_s:.3f}", "-t", f"{end_s - start_s:.3f}", "-i", str(video),
        "-map", "0:a", "-ac", "1", "-ar", "8000", "-f", "s16le", "-",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    samples = struct.unpack(f"<{len(done.stdout) // 2}h", done.stdout)
    return math.sqrt(sum(s * s for s in samples) / max(len(samples), 1))


def ffmpeg_says(tools: Toolchain, video: Path) -> tuple[float, list[str]]:
    """ffmpeg's own reading of the file (`ffmpeg -i`): the duration and the stream lines."""
    text = ffmpeg(tools, "-i", str(video)).stderr.decode(errors="replace")
    hours, minutes, seconds = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", text).groups()  # type: ignore[union-attr]
    streams = re.findall(r"Stream #\d+:\d+.*?: (\w+: .*)", text)
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds), streams


@dataclass
class Made:
    tools: Toolchain
    spec: ShortSpec
    short: AssembledShort
    bare: AssembledShort  # the same short without burned-in captions


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Made:
    tools = Toolchain.locate()
    inputs = tmp_path_factory.mktemp("inputs")
    stills = [
        draw(tools, inputs / "still0.png", "testsrc2=s=1024x1792", "-frames:v", "1"),
        draw(tools, inputs / "still1.jpg", "mandelbrot=s=1280x720", "-frames:v", "1"),
        draw(tools, inputs / "still2.png", "smptehdbars=s=1024x1024", "-frames:v", "1"),
    ]
    segments = []
    for index, ((text, seconds), still) in enumerate(zip(NARRATIONS, stills, strict=True)):
        narration = tone(inputs / f"narration{index}.wav", seconds)
        segments.append(SegmentInput(still, narration, tuple(build_cues(text, seconds))))
    spec = ShortSpec(tuple(segments), "The Lighthouse Keeper", breath_s=BREATH, title_s=TITLE, language="eng")
    short = assemble_short(spec, tmp_path_factory.mktemp("short"), toolchain=tools)
    bare = assemble_short(spec, tmp_path_factory.mktemp("bare"), toolchain=tools, burn_captions=False)
    return Made(tools, spec, short, bare)


def test_streams_are_h264_aac_and_a_soft_text_track_at_1080x1920(made: Made) -> None:
    info = probe(made.short.path)
    assert [(t.handler, t.codec) for t in info.tracks] == [
        ("vide", "avc1"),
        ("soun", "mp4a"),
        ("sbtl", "tx3g"),
    ]
    assert (info.tracks[0].width, info.tracks[0].height) == (1080, 1920)
    assert (made.short.width, made.short.height) == (1080, 1920)
    _, streams = ffmpeg_says(made.tools, made.short.path)
    assert any(
        s.startswith("Video: h264") and "yuv420p" in s and "1080x1920" in s and "30 fps" in s for s in streams
    )
    assert any(s.startswith("Audio: aac") and "48000 Hz" in s for s in streams)
    assert any(s.startswith("Subtitle: mov_text") for s in streams)


def test_duration_is_title_plus_each_narration_and_breath(made: Made) -> None:
    narration_total = sum(seconds for _, seconds in NARRATIONS)
    designed = TITLE + sum(seconds + BREATH for _, seconds in NARRATIONS)
    frame = 1 / 30
    assert planned_duration(made.spec) == pytest.approx(designed, abs=frame * (1 + len(NARRATIONS)))
    assert made.short.duration_s == pytest.approx(designed, abs=frame * (1 + len(NARRATIONS)))
    by_ffmpeg, _ = ffmpeg_says(made.tools, made.short.path)
    assert by_ffmpeg == pytest.approx(designed, abs=0.05)
    video = probe(made.short.path).tracks_of("vide")[0]
    assert video.duration_s == pytest.approx(designed, abs=frame * (1 + len(NARRATIONS)))
    # Of the short, everything but the title card and the breaths is narration, within 5 %.
    spoken = made.short.duration_s - TITLE - BREATH * len(NARRATIONS)
    assert spoken == pytest.approx(narration_total, rel=0.05)


def test_faststart_puts_moov_before_mdat(made: Made) -> None:
    kinds = [box.kind for box in top_level_boxes(made.short.path)]
    assert kinds[0] == "ftyp"
    assert kinds.index("moov") < kinds.index("mdat")
    assert probe(made.short.path).faststart


def test_narration_is_heard_in_its_segment_and_the_title_card_is_silent(made: Made) -> None:
    starts = made.short.segment_starts_s
    assert starts[0] == pytest.approx(TITLE)
    assert rms_between(made.tools, made.short.path, 0.2, TITLE - 0.2) < 50
    for start, (_, seconds) in zip(starts, NARRATIONS, strict=True):
        assert rms_between(made.tools, made.short.path, start + 0.3, start + seconds - 0.3) > 3000
        # the breath after the narration is quiet
        assert (
            rms_between(made.tools, made.short.path, start + seconds + 0.1, start + seconds + BREATH - 0.1)
            < 300
        )


def caption_pixels(a: bytes, b: bytes, width: int) -> list[tuple[int, int]]:
    return [(i % width, i // width) for i in range(0, len(a)) if abs(a[i] - b[i]) > 80]


def test_captions_are_burned_in_the_safe_middle_band(made: Made) -> None:
    width, height = 1080, 1920
    first_cue = build_cues(NARRATIONS[0][0], NARRATIONS[0][1])[0]
    at = made.short.segment_starts_s[0] + (first_cue.start_s + first_cue.end_s) / 2
    with_captions = gray_frame(made.tools, made.short.path, at, width, height)
    without = gray_frame(made.tools, made.bare.path, at, width, height)
    changed = caption_pixels(with_captions, without, width)
    assert len(changed) > 2000  # letters, not encoder noise
    xs = [x for x, _ in changed]
    ys = [y for _, y in changed]
    assert max(ys) < height * 0.8  # not in the bottom fifth
    assert min(ys) > height * 0.35  # below faces and the title's middle
    assert max(xs) < width * 0.88  # clear of the right edge's buttons
    # After the last cue (in the closing breath) the caption band agrees again. Only the band is
    # compared: the final frames' sharp bar edges differ by encoder noise at the top rows
    # (183 pixels here, 818 on CI's machine at row 0), which says nothing about captions.
    after = made.short.segment_starts_s[-1] + NARRATIONS[-1][1] + BREATH / 2
    late = caption_pixels(gray_frame(made.tools, made.short.path, after, width, height),
                          gray_frame(made.tools, made.bare.path, after, width, height), width)  # fmt: skip
    assert len([y for _, y in late if height * 0.35 < y < height * 0.8]) < 200


def test_title_card_shows_the_title(made: Made) -> None:
    frame = gray_frame(made.tools, made.bare.path, 0.5, 1080, 1920)
    bright = sum(1 for value in frame if value > 200)
    assert bright > 3000  # white title letters on the dark card
    top_fifth = frame[: 1080 * 384]
    assert max(top_fifth) < 60  # plain dark background outside the text


def test_stills_move(made: Made) -> None:
    start = made.short.segment_starts_s[1]  # mandelbrot still: a pan
    early = gray_frame(made.tools, made.bare.path, start + 0.1, 1080, 1920)
    late = gray_frame(made.tools, made.bare.path, start + 2.0, 1080, 1920)
    moved = sum(1 for a, b in zip(early, late, strict=True) if abs(a - b) > 40)
    assert moved > 1080 * 1920 * 0.05


def test_srt_and_vtt_are_on_the_short_timeline(made: Made) -> None:
    srt = made.short.srt_path.read_text()
    vtt = made.short.vtt_path.read_text()
    assert srt.startswith("1\n00:00:01,500 --> ")
    assert vtt.startswith("WEBVTT\n\n00:00:01.500 --> ")
    assert "The storm came in from the north," in srt


def test_work_folder_holds_only_the_outputs(made: Made) -> None:
    assert sorted(p.name for p in made.short.path.parent.iterdir()) == ["short.mp4", "short.srt", "short.vtt"]


def test_a_clip_and_a_silent_segment_in_16_9(tmp_path: Path) -> None:
    tools = Toolchain.locate()
    clip = draw(
        tools, tmp_path / "clip.mp4", "testsrc=s=640x480:r=24:d=0.7", "-c:v", "libx264", "-pix_fmt", "yuv420p"
    )
    still = draw(tools, tmp_path / "still.png", "color=c=orange:s=800x800", "-frames:v", "1")
    segments = (
        SegmentInput(
            clip, tone(tmp_path / "n.wav", 1.2), tuple(build_cues("A clip, looped.", 1.2)), kind="clip"
        ),
        SegmentInput(still, None, silent_s=1.0),
    )
    short = assemble_short(
        ShortSpec(segments, "", aspect_ratio="16:9", breath_s=0.2), tmp_path / "out", toolchain=tools
    )
    info = probe(short.path)
    assert (short.width, short.height) == (1920, 1080)
    assert short.duration_s == pytest.approx(1.2 + 0.2 + 1.0 + 0.2, abs=0.07)  # no title card: empty title
    assert [t.codec for t in info.tracks] == ["avc1", "mp4a", "tx3g"]
    assert rms_between(tools, short.path, 1.6, 2.3) < 50  # the silent segment


def test_bad_inputs_are_refused_by_field(tmp_path: Path) -> None:
    tools = Toolchain.locate()
    still = draw(tools, tmp_path / "s.png", "color=c=blue:s=64x64", "-frames:v", "1")
    not_wav = tmp_path / "n.wav"
    not_wav.write_text("not audio")
    cases = [
        (ShortSpec((SegmentInput(tmp_path / "missing.png"),), "t"), "segments[0].visual"),
        (ShortSpec((SegmentInput(still, not_wav),), "t"), "segments[0].narration"),
        (ShortSpec((SegmentInput(still),), "t", aspect_ratio="4:3"), "aspect_ratio"),  # type: ignore[arg-type]
        (ShortSpec((), "t"), "segments"),
    ]
    for spec, field in cases:
        with pytest.raises(InvalidRequestError) as caught:
            assemble_short(spec, tmp_path / "out", toolchain=tools)
        assert caught.value.field == field


def test_ffmpeg_failure_is_an_assembly_error_and_leaves_nothing(tmp_path: Path) -> None:
    tools = Toolchain.locate()
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    out = tmp_path / "out"
    with pytest.raises(AssemblyError, match="ffmpeg exited"):
        assemble_short(ShortSpec((SegmentInput(broken, silent_s=1.0),), "t"), out, toolchain=tools)
    assert sorted(p.name for p in out.iterdir()) == ["short.srt", "short.vtt"]


def test_a_time_budget_given_by_the_caller_stops_ffmpeg_and_leaves_no_mp4(tmp_path: Path) -> None:
    tools = Toolchain.locate()
    still = draw(tools, tmp_path / "still.png", "testsrc2=s=1024x1792", "-frames:v", "1")
    out = tmp_path / "out"
    with pytest.raises(AssemblyError, match="ffmpeg took longer than 0 s"):
        assemble_short(
            ShortSpec((SegmentInput(still, silent_s=5.0),), "t"), out, toolchain=tools, timeout_s=0.01
        )
    assert not (out / "short.mp4").exists()


def test_without_a_time_budget_from_the_caller_ffmpeg_runs_unbounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No guess from the short's length: on a loaded 2-core machine ffmpeg took 53.7 s of wall time
    for 11.7 s of CPU (2026-12-07, load 14), past the old 20 s + 4 x length. The timeout ffmpeg is
    given is recorded (a stall long enough to outlast any guess would cost this suite a minute)."""
    tools = Toolchain.locate()
    still = draw(tools, tmp_path / "still.png", "testsrc2=s=1024x1792", "-frames:v", "1")
    given: list[object] = []
    real_run = subprocess.run

    def recording_run(*args: Any, **kwargs: Any) -> Any:
        given.append(kwargs.get("timeout"))
        return real_run(*args, **kwargs)

    monkeypatch.setattr(subprocess, "run", recording_run)  # the module render.py calls it through
    short = assemble_short(
        ShortSpec((SegmentInput(still, silent_s=1.0),), "t"), tmp_path / "out", toolchain=tools
    )

    assert short.path.is_file()
    assert given
    assert all(timeout is None for timeout in given), given


def _bright_centre(frame: bytes, width: int, height: int) -> tuple[float, float]:
    """The centroid (x, y) in pixels of the frame's bright pixels (gray > 200)."""
    xs = ys = count = 0
    for index, value in enumerate(frame):
        if value > 200:
            xs += index % width
            ys += index // width
            count += 1
    assert count, "no bright pixel in the frame"
    return xs / count, ys / count


def test_zooms_stay_centred_from_first_to_last_frame(tmp_path: Path) -> None:
    """A zoom in (segment 1) and a zoom out (segment 3) keep the still's centre on the frame's
    centre all the way. ffmpeg's `crop` measures against the size its link was configured with,
    not each frame's, so a `scale` with eval=frame before it (the frame size changing every
    frame) drifted the picture off centre and, on a zoom out, read past the end of the frame
    buffer: libx264 then crashed with SIGSEGV about one run in ten (CI, 2026-12-07)."""
    tools = Toolchain.locate()
    still = draw(
        tools, tmp_path / "dot.png", "color=c=black:s=1024x1792", "-frames:v", "1",
        "-vf", "drawbox=x=472:y=856:w=80:h=80:color=white:t=fill",
    )  # fmt: skip
    segments = tuple(SegmentInput(still, None, silent_s=1.0) for _ in range(3))
    short = assemble_short(ShortSpec(segments, "", breath_s=0.0), tmp_path / "out", toolchain=tools)
    for number in (0, 2):  # zoom in, zoom out (segment 1 pans)
        start = short.segment_starts_s[number]
        for at_s in (start + 0.05, start + 0.95):
            x, y = _bright_centre(gray_frame(tools, short.path, at_s, 1080, 1920), 1080, 1920)
            assert x == pytest.approx(540, abs=4), (number, at_s)
            assert y == pytest.approx(960, abs=4), (number, at_s)
