"""Issue 25 (found by a probe): the soft subtitle track is marked enabled/default, so players show the
captions twice (burned in AND the soft track on top).

`render.py` promises "the SRT as a mov_text track (not default: the captions are already in the
picture)" and passes `-disposition:s:0 0`. FFmpeg's MP4 muxer ignores that: `enable_tracks()` in
libavformat/movenc.c enables "the first one found" of each media type when no stream of that
type is marked default, so the tx3g track's `tkhd` gets the enabled flag, which ffmpeg/ffprobe
report as `(default)` and which QuickTime / iOS players use to show a text track.

Public sources: FFmpeg libavformat/movenc.c `enable_tracks` ("for each media type, if no stream
was explicitly enabled then enable the first one found for that type", quoted in
mdhiggins/sickbeard_mp4_automator#223); rigaya/VCEEnc#44 ("the muxer will automatically add
'default' to the first subtitle track"). ISO/IEC 14496-12 `tkhd` flag track_enabled.
Seen on the demo short made by `contentgen short ... --output` on the local stack:
`Stream #0:2[0x3](eng): Subtitle: mov_text (tx3g / 0x67337874), 0 kb/s (default)`.
"""

from __future__ import annotations

import re
import struct

import pytest

from contentgen.assembly import AssembledShort, Cue, SegmentInput, ShortSpec, Toolchain, assemble_short
from contentgen.assembly.mp4 import disable_tracks, probe
from tests.integration.test_assembly import draw, ffmpeg_says

pytestmark = pytest.mark.integration


def tkhd_enabled_by_handler(data: bytes) -> dict[str, bool]:
    """Each trak's handler type -> whether its tkhd has the track_enabled flag (0x1)."""
    found: dict[str, bool] = {}
    for trak in re.finditer(rb"trak", data):
        start = trak.start() - 4
        size = struct.unpack(">I", data[start : start + 4])[0]
        box = data[start : start + size]
        tkhd = box.find(b"tkhd")
        hdlr = box.find(b"hdlr")
        if tkhd < 0 or hdlr < 0:
            continue
        flags = int.from_bytes(box[tkhd + 5 : tkhd + 8], "big")
        handler = box[hdlr + 12 : hdlr + 16].decode("latin-1")
        found[handler] = bool(flags & 1)
    return found


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> AssembledShort:
    """A two-second short with one caption (burned in and as the soft track)."""
    tools = Toolchain.locate()
    folder = tmp_path_factory.mktemp("soft-track")
    still = draw(tools, folder / "s.png", "color=c=0x336699:s=1080x1920", "-frames:v", "1")
    spec = ShortSpec(
        segments=(SegmentInput(visual=still, cues=(Cue(0.0, 1.5, ("Hello there",)),), silent_s=2.0),),
        title="",
        title_s=0.0,
        breath_s=0.0,
        language="eng",
    )
    return assemble_short(spec, folder / "out", toolchain=tools, timeout_s=300)


def test_the_soft_caption_track_is_not_enabled_by_default(made: AssembledShort) -> None:
    tools = Toolchain.locate()
    _, streams = ffmpeg_says(tools, made.path)
    subtitle = [s for s in streams if s.startswith("Subtitle:")]
    assert subtitle, streams
    flags = tkhd_enabled_by_handler(made.path.read_bytes())
    assert flags.get("sbtl") is False, (
        f"the soft track is enabled/default ({subtitle[0]}; tkhd enabled flags {flags}): players "
        "show it over the burned-in captions"
    )
    assert "(default)" not in subtitle[0], subtitle[0]


def test_the_picture_and_the_sound_stay_enabled_and_the_captions_listed(made: AssembledShort) -> None:
    info = probe(made.path)
    assert [track.enabled for track in info.tracks_of("vide")] == [True]
    assert [track.enabled for track in info.tracks_of("soun")] == [True]
    assert [(track.codec, track.enabled) for track in info.tracks_of("sbtl")] == [("tx3g", False)]
    assert info.faststart
    assert disable_tracks(made.path, "sbtl") == 0  # already off: nothing to change
