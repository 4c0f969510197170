"""Assembly of a finished short: caption cues (SRT/WebVTT) timed to narration, and one MP4 made
with ffmpeg from stills or clips, narration WAVs and cues. Imports only `contentgen.errors`.

    from contentgen.assembly import ShortSpec, SegmentInput, assemble_short, build_cues
"""

from contentgen.assembly.audio import WavInfo, speech_bounds, wav_info
from contentgen.assembly.captions import Cue, TimedWord, build_cues, estimate_syllables, to_srt, to_vtt
from contentgen.assembly.mp4 import Mp4FormatError, Mp4Info, Track, probe, top_level_boxes
from contentgen.assembly.render import (
    FRAME_SIZES,
    AssembledShort,
    AssemblyError,
    SegmentInput,
    ShortSpec,
    assemble_short,
    frame_size,
    planned_duration,
)
from contentgen.assembly.toolchain import Toolchain

__all__ = [
    "FRAME_SIZES",
    "AssembledShort",
    "AssemblyError",
    "Cue",
    "Mp4FormatError",
    "Mp4Info",
    "SegmentInput",
    "ShortSpec",
    "TimedWord",
    "Toolchain",
    "Track",
    "WavInfo",
    "assemble_short",
    "build_cues",
    "estimate_syllables",
    "frame_size",
    "planned_duration",
    "probe",
    "speech_bounds",
    "to_srt",
    "to_vtt",
    "top_level_boxes",
    "wav_info",
]
