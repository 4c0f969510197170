"""Assemble a short: title card, then each segment's still (slow pan/zoom) or clip with its
narration and burned-in captions, into one MP4 (H.264 yuv420p 30 fps + AAC, `+faststart`, a
soft mov_text subtitle track), plus the short's captions as SRT and WebVTT.

One ffmpeg run (`Toolchain.ffmpeg`) builds the whole timeline in one filter graph:

- title card: `color` source, the title drawn by the `subtitles` filter (libass);
- still: `scale` (cover the frame with a 12 % margin) + `crop` once, then either `zoompan`
  (a centred zoom in or out across the margin, one output frame per frame of the segment) or
  `loop` the single frame and a moving `crop` (a pan across the margin); segments alternate zoom
  in, pan right, zoom out, pan left. The frame size never changes inside the graph: ffmpeg's
  filters measure against the size their link was configured with, so a per-frame `scale`
  before a `crop` cropped outside smaller frames;
- clip: `-stream_loop -1`, `fps`, `scale` + `crop` to cover the frame, `trim` to the segment;
- audio: each narration `aresample`d to 48 kHz stereo, `apad`ded and `atrim`med to its segment
  (silence for the title card and silent segments: `anullsrc`);
- `concat` of all segments, then `subtitles` burns the captions (an ASS file: white bold text,
  black outline, in the middle band: above the bottom fifth and clear of the right edge where
  the platforms draw their buttons), `format=yuv420p`;
- libx264 `-preset superfast -crf 23` (capped at 8 Mb/s), one thread; AAC 128 kb/s; the SRT
  as a mov_text track (not default: the captions are already in the picture; ffmpeg's muxer
  enables the first subtitle track whatever `-disposition` says, so its tkhd enabled flag is
  cleared afterwards, `mp4.disable_tracks`).

Timing: a segment lasts its narration plus `breath_s` (or `silent_s` with no narration), rounded
to whole frames; the short lasts `title_s` + the sum of its segments (also whole frames). The
narration starts with its segment, so a segment's caption cues (relative to its narration) are
shifted by the segment's start.

Fonts: libass gets only the toolchain's font (`fontsdir` and a fonts.conf written in the work
directory), so rendering is the same on a laptop and in Lambda, where no system fonts exist.
The default font (DejaVu Sans) covers Latin, Greek and Cyrillic, not CJK.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from contentgen.assembly.audio import wav_info
from contentgen.assembly.captions import Cue, text_width, to_srt, to_vtt
from contentgen.assembly.mp4 import disable_tracks, probe
from contentgen.assembly.toolchain import Toolchain
from contentgen.errors import ContentgenError, InvalidRequestError

AspectRatio = Literal["9:16", "16:9", "1:1"]
FRAME_SIZES: dict[str, tuple[int, int]] = {"9:16": (1080, 1920), "16:9": (1920, 1080), "1:1": (1080, 1080)}
FPS = 30
SAMPLE_RATE = 48_000
MOTION_MARGIN = 1.12  # stills are scaled to 112 % of the frame: the room a pan or zoom moves in
MAX_SEGMENTS = 20
MAX_SEGMENT_S = 120.0
MAX_TITLE_CHARS = 200
X264_PRESET = "superfast"
X264_CRF = 23
VIDEO_MAXRATE = "8M"
AUDIO_BITRATE = "128k"
# Safe zones (DOMAIN.md "A finished short"): the bottom fifth and the right edge belong to the
# platforms' own buttons and text. Captions sit with their bottom line at 72 % of the height.
CAPTION_BOTTOM = 0.72
MARGIN_LEFT = 0.05
MARGIN_RIGHT = 0.14
# DejaVu Sans Bold: a line of running text advances about 0.5 x the font size per character;
# 0.56 leaves room for capitals and wide letters so a line never wraps to a third.
AVERAGE_CHAR_EM = 0.56


class AssemblyError(ContentgenError):
    """ffmpeg failed or produced no playable file; the message ends with ffmpeg's last words."""

    code = "assembly_failed"


@dataclass(frozen=True)
class SegmentInput:
    """One segment of the short.

    `visual`: a still image (PNG/JPEG/WebP) when `kind` is "still", a video clip when "clip"
    (looped or cut to the segment; its own audio is dropped). `narration`: a PCM WAV, or None for
    a silent segment lasting `silent_s` seconds. `cues`: captions timed from the start of the
    narration (as `contentgen.assembly.captions.build_cues` returns them).
    """

    visual: Path
    narration: Path | None = None
    cues: tuple[Cue, ...] = ()
    kind: Literal["still", "clip"] = "still"
    silent_s: float = 3.0


@dataclass(frozen=True)
class ShortSpec:
    """What to assemble: `segments` in order, a `title` for the title card (shown `title_s`
    seconds; 0 for none), the `aspect_ratio` (1080 px on the short side), the pause after each
    narration (`breath_s`) and the subtitle track's ISO 639-2 `language` code.
    `title_overlay`: the title is drawn over the first `title_s` seconds of the first segment
    instead of on a card of its own, so the short lasts as long as its narrations (plus breaths)."""

    segments: tuple[SegmentInput, ...]
    title: str
    aspect_ratio: AspectRatio = "9:16"
    breath_s: float = 0.4
    title_s: float = 1.5
    language: str = "und"
    title_overlay: bool = False


@dataclass(frozen=True)
class AssembledShort:
    """The assembled MP4 (`path`) as read back from its boxes: `duration_s`, frame `width` x
    `height`, `size_bytes`; the short's captions (`srt_path`, `vtt_path`) on its timeline, and
    each segment's start on that timeline (`segment_starts_s`)."""

    path: Path
    duration_s: float
    width: int
    height: int
    size_bytes: int
    srt_path: Path
    vtt_path: Path
    segment_starts_s: tuple[float, ...] = field(default=())


@dataclass(frozen=True)
class _Planned:
    segment: SegmentInput
    frames: int
    start_s: float


def frame_size(aspect_ratio: str) -> tuple[int, int]:
    """(width, height) in pixels of an aspect ratio. Raises InvalidRequestError for another one."""
    try:
        return FRAME_SIZES[aspect_ratio]
    except KeyError:
        raise InvalidRequestError("aspect_ratio", f"must be one of {', '.join(FRAME_SIZES)}") from None


def planned_duration(spec: ShortSpec) -> float:
    """The short's length in seconds as `assemble_short` makes it (whole frames): title card plus
    each segment's narration (or `silent_s`) plus `breath_s`."""
    title_frames, planned = _plan(spec)
    return (title_frames + sum(item.frames for item in planned)) / FPS


def assemble_short(
    spec: ShortSpec,
    workdir: Path,
    *,
    toolchain: Toolchain | None = None,
    threads: int = 1,
    timeout_s: float | None = None,
    burn_captions: bool = True,
) -> AssembledShort:
    """Assemble `spec` into `workdir`/short.mp4 (+ short.srt, short.vtt); intermediates go to a
    temporary folder inside `workdir` that is removed afterwards (Lambda: give a folder in /tmp).

    `threads`: ffmpeg's encoder and filter threads (1: one core). `timeout_s`: ffmpeg's time
    budget in seconds; None (default) sets none: the caller knows the time it has (the pipeline
    gives its function's timeout less a margin), and a guess from the short's length fails on a
    loaded machine (a fresh-clone test run at load 18 on 2 cores took over 20 s + 4 x 10 s). `burn_captions=False` leaves the picture
    without captions (the soft track is still written): for comparisons.
    Raises InvalidRequestError naming the field for bad input (missing file, unreadable WAV,
    bad aspect ratio, too many or too long segments), ConfigurationError when ffmpeg or the font
    is missing, AssemblyError when ffmpeg fails or times out.
    """
    width, height = frame_size(spec.aspect_ratio)
    title_frames, planned = _plan(spec)
    tools = toolchain or Toolchain.locate()
    workdir.mkdir(parents=True, exist_ok=True)
    output, srt_path, vtt_path = workdir / "short.mp4", workdir / "short.srt", workdir / "short.vtt"
    cues = sorted(
        (
            _clip_cue(cue.shifted(item.start_s), item.start_s + item.frames / FPS)
            for item in planned
            for cue in item.segment.cues
        ),
        key=lambda cue: cue.start_s,
    )
    cues = [cue for cue in cues if cue.end_s > cue.start_s]
    srt_path.write_text(to_srt(cues), encoding="utf-8")
    vtt_path.write_text(to_vtt(cues), encoding="utf-8")
    scratch = Path(tempfile.mkdtemp(prefix="assembly-", dir=workdir))
    try:
        ass = scratch / "captions.ass"
        title = spec.title.strip() if title_frames or spec.title_overlay else ""
        title_end_s = spec.title_s if spec.title_overlay else title_frames / FPS
        ass.write_text(
            _ass_document(width, height, title, title_end_s, cues if burn_captions else []),
            encoding="utf-8",
        )
        (scratch / "fonts").mkdir()
        shutil.copy2(tools.font_file, scratch / "fonts" / tools.font_file.name)
        fonts_conf = scratch / "fonts.conf"
        fonts_conf.write_text(
            '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
            f"<fontconfig><dir>{_xml(str(scratch / 'fonts'))}</dir>"
            f"<cachedir>{_xml(str(scratch / 'fontcache'))}</cachedir></fontconfig>\n",
            encoding="utf-8",
        )
        command = _command(
            tools,
            spec,
            planned,
            title_frames,
            width,
            height,
            ass,
            srt_path if cues else None,
            output,
            threads,
        )
        log = scratch / "ffmpeg.log"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "FONTCONFIG_FILE": str(fonts_conf),
            "HOME": str(scratch),
        }
        try:
            with log.open("wb") as stderr:
                completed = subprocess.run(  # noqa: S603 - our own ffmpeg, arguments built here
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    cwd=scratch,
                    env=env,
                    timeout=timeout_s,
                    check=False,
                )
        except subprocess.TimeoutExpired as error:
            output.unlink(missing_ok=True)
            raise AssemblyError(f"ffmpeg took longer than {timeout_s:.0f} s") from error
        if completed.returncode != 0 or not output.is_file():
            output.unlink(missing_ok=True)
            raise AssemblyError(f"ffmpeg exited {completed.returncode}: {_last_words(log)}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    disable_tracks(output, "sbtl")  # the soft captions: listed, off until chosen
    info = probe(output)
    video = info.tracks_of("vide")
    if not video:
        raise AssemblyError("ffmpeg wrote no video track")
    return AssembledShort(
        path=output,
        duration_s=info.duration_s,
        width=video[0].width,
        height=video[0].height,
        size_bytes=output.stat().st_size,
        srt_path=srt_path,
        vtt_path=vtt_path,
        segment_starts_s=tuple(item.start_s for item in planned),
    )


def _plan(spec: ShortSpec) -> tuple[int, list[_Planned]]:
    frame_size(spec.aspect_ratio)
    if not spec.segments:
        raise InvalidRequestError("segments", "at least one segment is needed")
    if len(spec.segments) > MAX_SEGMENTS:
        raise InvalidRequestError("segments", f"at most {MAX_SEGMENTS} segments")
    if not (0 <= spec.breath_s <= 5 and math.isfinite(spec.breath_s)):
        raise InvalidRequestError("breath_s", "must be between 0 and 5 seconds")
    if not (0 <= spec.title_s <= 10 and math.isfinite(spec.title_s)):
        raise InvalidRequestError("title_s", "must be between 0 and 10 seconds")
    if len(spec.title) > MAX_TITLE_CHARS:
        raise InvalidRequestError("title", f"at most {MAX_TITLE_CHARS} characters")
    if not (len(spec.language) == 3 and spec.language.isascii() and spec.language.isalpha()):
        raise InvalidRequestError(
            "language", "must be an ISO 639-2 code of three letters (und: undetermined)"
        )
    title_frames = round(spec.title_s * FPS) if spec.title.strip() and not spec.title_overlay else 0
    clock = title_frames
    planned = []
    for index, segment in enumerate(spec.segments):
        name = f"segments[{index}]"
        if not segment.visual.is_file():
            raise InvalidRequestError(f"{name}.visual", f"no such file {segment.visual.name}")
        if segment.narration is not None:
            seconds = wav_info(segment.narration, f"{name}.narration").duration_s
        elif math.isfinite(segment.silent_s) and segment.silent_s > 0:
            seconds = segment.silent_s
        else:
            raise InvalidRequestError(f"{name}.silent_s", "must be a positive number of seconds")
        if any(not (0 <= cue.start_s < cue.end_s) for cue in segment.cues):
            raise InvalidRequestError(
                f"{name}.cues", "each cue must start at or after 0 and end after it starts"
            )
        if seconds > MAX_SEGMENT_S:
            raise InvalidRequestError(name, f"lasts {seconds:.0f} s, more than {MAX_SEGMENT_S:.0f} s")
        frames = max(round((seconds + spec.breath_s) * FPS), 1)
        planned.append(_Planned(segment, frames, clock / FPS))
        clock += frames
    return title_frames, planned


def _clip_cue(cue: Cue, segment_end_s: float) -> Cue:
    return Cue(cue.start_s, min(cue.end_s, segment_end_s), cue.lines)


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _last_words(log: Path) -> str:
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(lines[-4:])[-600:] or "(no output)"


def _ass_time(seconds: float) -> str:
    centis = max(round(seconds * 100), 0)
    hours, centis = divmod(centis, 360_000)
    minutes, centis = divmod(centis, 6000)
    secs, centis = divmod(centis, 100)
    return f"{hours}:{minutes:02d}:{secs:02d}.{centis:02d}"


def _ass_text(text: str) -> str:
    """Text as literal ASS: override braces and backslashes replaced by look-alikes, lines by \\N."""
    safe = text.replace("\\", "\uff3c").replace("{", "\uff5b").replace("}", "\uff5d")
    return "\\N".join(safe.splitlines())


def caption_font_size(width: int, height: int, cues: Sequence[Cue]) -> int:
    """Font size (ASS pixels) that fits the widest caption line in the safe width, at most 5.5 %
    of the frame's height."""
    safe_width = width * (1 - MARGIN_LEFT - MARGIN_RIGHT)
    widest = max((text_width(line) for cue in cues for line in cue.lines), default=20)
    return int(min(safe_width / (max(widest, 20) * AVERAGE_CHAR_EM), height * 0.055))


def _ass_document(width: int, height: int, title: str, title_end_s: float, cues: Sequence[Cue]) -> str:
    size = caption_font_size(width, height, cues)
    outline = max(round(size * 0.08), 2)
    title_size = round(min(width, height) * 0.075)
    left, right = round(width * MARGIN_LEFT), round(width * MARGIN_RIGHT)
    bottom = round(height * (1 - CAPTION_BOTTOM))
    head = (
        "[Script Info]\nScriptType: v4.00+\n"
        f"PlayResX: {width}\nPlayResY: {height}\nWrapStyle: 0\nScaledBorderAndShadow: yes\n\n"
        "[V4+ Styles]\n"
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
        "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, "
        "Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
        f"Style: Caption,DejaVu Sans,{size},&H00FFFFFF,&H00FFFFFF,&H00000000,&H96000000,"
        f"-1,0,0,0,100,100,0,0,1,{outline},{max(outline // 2, 1)},2,{left},{right},{bottom},1\n"
        f"Style: Title,DejaVu Sans,{title_size},&H00FFFFFF,&H00FFFFFF,&H00000000,&H96000000,"
        f"-1,0,0,0,100,100,0,0,1,{max(round(title_size * 0.06), 2)},2,5,{left},{right},0,1\n\n"
        "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    )
    events = []
    if title and title_end_s > 0:
        events.append(
            f"Dialogue: 0,{_ass_time(0)},{_ass_time(title_end_s)},Title,,0,0,0,,{_ass_text(title)}\n"
        )
    for cue in cues:
        events.append(
            f"Dialogue: 0,{_ass_time(cue.start_s)},{_ass_time(cue.end_s)},Caption,,0,0,0,,{_ass_text(cue.text)}\n"
        )
    return head + "".join(events)


def _command(
    tools: Toolchain,
    spec: ShortSpec,
    planned: list[_Planned],
    title_frames: int,
    width: int,
    height: int,
    ass: Path,
    srt: Path | None,
    output: Path,
    threads: int,
) -> list[str]:
    inputs: list[str] = []
    graph: list[str] = []
    pairs: list[str] = []
    count = 0

    def add_input(*args: str) -> int:
        nonlocal count
        inputs.extend(args)
        count += 1
        return count - 1

    def silence(label: str, frames: int) -> None:
        index = add_input("-f", "lavfi", "-i", f"anullsrc=r={SAMPLE_RATE}:cl=stereo")
        samples = frames * SAMPLE_RATE // FPS
        graph.append(f"[{index}:a]atrim=end_sample={samples},asetpts=N/SR/TB[{label}]")

    if title_frames:
        index = add_input("-f", "lavfi", "-i", f"color=c=0x0F172A:s={width}x{height}:r={FPS}")
        graph.append(
            f"[{index}:v]trim=end_frame={title_frames},setpts=N/{FPS}/TB,format=yuv420p,setsar=1[vt]"
        )
        silence("at", title_frames)
        pairs.append("[vt][at]")
    big_w = 2 * math.ceil(width * MOTION_MARGIN / 2)
    big_h = 2 * math.ceil(height * MOTION_MARGIN / 2)
    for number, item in enumerate(planned):
        frames, segment = item.frames, item.segment
        last = max(frames - 1, 1)
        if segment.kind == "clip":
            index = add_input("-stream_loop", "-1", "-i", str(segment.visual))
            chain = (
                f"[{index}:v]fps={FPS},scale={width}:{height}:force_original_aspect_ratio=increase,"
                f"crop={width}:{height},trim=end_frame={frames},setpts=N/{FPS}/TB"
            )
        else:
            index = add_input("-i", str(segment.visual))
            chain = (
                f"[{index}:v]scale={big_w}:{big_h}:force_original_aspect_ratio=increase,crop={big_w}:{big_h},"
                "format=yuv420p,"
            )
            motion = number % 4
            if motion in (0, 2):  # zoom in / zoom out across the margin
                # zoompan, not `scale` with eval=frame + `crop`: every filter after a per-frame
                # scale still measures against the size its link was configured with, so the crop
                # drifted off centre and, zooming out, read past the end of the smaller frames
                # (libx264 crashed with SIGSEGV about one run in ten). zoompan crops the region
                # (iw/zoom x ih/zoom at x, y) of each frame and scales it to a fixed size.
                # `on`: the output frame's number; clipped to the segment in case it counts from 1.
                progress = f"min(on/{last},1)" if motion == 0 else f"(1-min(on/{last},1))"
                chain += (
                    f"zoompan=z='1+{MOTION_MARGIN - 1:.4f}*{progress}':x='(iw-iw/zoom)/2':y='(ih-ih/zoom)/2'"
                    f":d={frames}:s={width}x{height}:fps={FPS},trim=end_frame={frames},setpts=N/{FPS}/TB"
                )
            else:  # pan right / pan left along the margin
                progress = f"n/{last}" if motion == 1 else f"(1-n/{last})"
                chain += (
                    f"loop=loop=-1:size=1,trim=end_frame={frames},setpts=N/{FPS}/TB,"
                    f"crop={width}:{height}:x='(iw-ow)*{progress}':y='(ih-oh)/2':exact=1"
                )
        graph.append(f"{chain},format=yuv420p,setsar=1[v{number}]")
        if segment.narration is not None:
            index = add_input("-i", str(segment.narration))
            samples = frames * SAMPLE_RATE // FPS
            graph.append(
                f"[{index}:a]aresample={SAMPLE_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo,"
                f"apad=whole_len={samples},atrim=end_sample={samples},asetpts=N/SR/TB[a{number}]"
            )
        else:
            silence(f"a{number}", frames)
        pairs.append(f"[v{number}][a{number}]")
    graph.append(f"{''.join(pairs)}concat=n={len(pairs)}:v=1:a=1[vcat][acat]")
    # ffmpeg runs in the scratch folder: the ASS file and the fonts folder need no escaping.
    graph.append(f"[vcat]subtitles=filename={ass.name}:fontsdir=fonts,format=yuv420p[vout]")
    command = [str(tools.ffmpeg), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    command += [
        "-threads",
        str(threads),
        "-filter_threads",
        str(threads),
        "-filter_complex_threads",
        str(threads),
    ]
    command += inputs
    if srt is not None:
        command += ["-i", str(srt)]
    command += ["-filter_complex", ";".join(graph), "-map", "[vout]", "-map", "[acat]"]
    if srt is not None:
        command += ["-map", f"{count}:s", "-c:s", "mov_text", "-metadata:s:s:0", f"language={spec.language}"]
        command += ["-disposition:s:0", "0"]
    command += ["-c:v", "libx264", "-preset", X264_PRESET, "-crf", str(X264_CRF), "-profile:v", "high"]
    command += ["-maxrate", VIDEO_MAXRATE, "-bufsize", "16M", "-pix_fmt", "yuv420p", "-r", str(FPS)]
    command += ["-threads", str(threads), "-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", str(SAMPLE_RATE)]
    command += ["-movflags", "+faststart", str(output)]
    return command
