"""Probe (issue 25): burned-in captions for the languages POST /shorts accepts (e.g. `ja`, `ko`).

`POST /shorts` takes any BCP 47 `language`; the pipeline even maps `ja` and `ko` to the subtitle
track's ISO 639-2 code (`short_pipeline._ISO639`). The narration and the story come back in that
language, but the caption font is DejaVu Sans Bold only (`assembly.toolchain`; libass gets only
that font, `render.py`: "covers Latin, Greek and Cyrillic, not CJK"). Every CJK character is
drawn as the same missing-glyph box ("tofu"): two different Japanese captions of the same length (10 characters each)
render as the same picture.

Public sources:
- harry0703/MoneyPrinterTurbo (the issue names it as the reference generator): its README's FAQ
  and issues about Chinese subtitles showing as boxes when the subtitle font lacks CJK glyphs;
  it ships CJK fonts (resource/fonts) for that reason.
- libass / fontconfig: a glyph missing from every font libass may use is drawn as the font's
  .notdef glyph (a box); nothing falls back when only one font directory is offered.

Expected: either a font that covers the language's script (e.g. Noto Sans CJK in the layer), or a
422 naming `language` for a script the captions cannot draw. Here: the captions of two different
Japanese sentences must look different (the Latin control shows the method can tell).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from contentgen.assembly import Cue, SegmentInput, ShortSpec, Toolchain, assemble_short
from tests.integration.test_assembly import draw, gray_frame

pytestmark = pytest.mark.integration


def caption_frame(tools: Toolchain, tmp_path: Path, name: str, text: str) -> bytes:
    still = draw(tools, tmp_path / f"{name}.png", "color=c=0x336699:s=1080x1920", "-frames:v", "1")
    spec = ShortSpec(
        segments=(SegmentInput(visual=still, cues=(Cue(0.0, 2.0, (text,)),), silent_s=2.0),),
        title="",
        title_s=0.0,
        breath_s=0.0,
        language="jpn",
    )
    made = assemble_short(spec, tmp_path / name, toolchain=tools, timeout_s=300)
    return gray_frame(tools, made.path, 1.0, 1080, 1920)


def differing(a: bytes, b: bytes) -> int:
    return sum(1 for x, y in zip(a, b, strict=True) if abs(x - y) > 60)


def test_two_different_japanese_captions_do_not_render_as_the_same_boxes(tmp_path: Path) -> None:
    tools = Toolchain.locate()
    # Control: two different Latin captions of the same length differ on screen.
    assert (
        differing(
            caption_frame(tools, tmp_path, "latin-a", "The keeper smiled"),
            caption_frame(tools, tmp_path, "latin-b", "A small boat came"),
        )
        > 500
    )
    japanese = differing(
        caption_frame(tools, tmp_path, "ja-a", "灯台守は手紙を読んだ"),
        caption_frame(tools, tmp_path, "ja-b", "小さな船が夜に来たよ"),
    )
    assert japanese > 500, (
        f"only {japanese} pixels differ between two different Japanese captions: the glyphs are "
        "missing from the caption font (tofu boxes)"
    )
