"""Issue 25 (found by a probe): narration text containing a timing line corrupts the SRT (soft track, captions_url).

The narration is the text model's (and, through the prompt, the caller's) words. `to_srt`
writes cue text verbatim, so a cue line that reads like a timing line
(`00:00:50,000 --> 00:00:59,000 ...`) is taken by SRT readers as the start of a new cue: ffmpeg's
SRT demuxer (libavformat/srtdec.c: any line matching `%d:%d:%d,%d --> %d:%d:%d,%d` starts an
event), which is what puts short.srt into the MP4's mov_text track, drops that caption line.

Public sources: the SubRip format (https://en.wikipedia.org/wiki/SubRip#Format: the `-->`
line is the timecode line); W3C WebVTT 1.0 ("cue payload ... must not contain the substring
`-->`"); FFmpeg libavformat/srtdec.c. Expected: `-->` in text is neutralised (e.g. `→` or
`-- >`) in both files, so every spoken word survives a round trip through ffmpeg.
"""

from __future__ import annotations

import subprocess

from contentgen.assembly import Toolchain
from contentgen.assembly.captions import build_cues, to_srt

TEXT = "The countdown on the old screen read 00:00:50,000 --> 00:00:59,000 and then it stopped."


def test_every_word_of_the_narration_survives_ffmpegs_srt_reader(tmp_path) -> None:  # type: ignore[no-untyped-def]
    srt = tmp_path / "short.srt"
    srt.write_text(to_srt(build_cues(TEXT, 8.0)), encoding="utf-8")
    read = subprocess.run(
        [
            str(Toolchain.locate().ffmpeg),
            "-hide_banner",
            "-loglevel",
            "error",
            "-i",
            str(srt),
            "-f",
            "srt",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for word in ("read", "and", "then", "stopped."):
        assert word in read, f"{word!r} lost: ffmpeg read the SRT as\n{read}\nfrom\n{srt.read_text()}"
