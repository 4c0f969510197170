"""Issue 25 (found by a probe): burned-in captions for the languages POST /shorts accepts (e.g. `ja`, `ko`).

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
422 naming `language` for a script the captions cannot draw. Built: the 422
(`contentgen.models.shorts.check_caption_language`: Latin, Greek and Cyrillic, what DejaVu Sans
covers), before anything is paid for. The probe's own check (two different Japanese captions must
look different) became: a CJK, Devanagari or Arabic language is refused naming `language` and
the allowed ones, with no provider call; and what is accepted is drawn (two different Greek and two
different Cyrillic captions render differently; the Latin control shows the method can tell).
"""

# ruff: noqa: F811
from __future__ import annotations

import json
from pathlib import Path

import pytest

from contentgen.assembly import Cue, SegmentInput, ShortSpec, Toolchain, assemble_short
from contentgen.models.shorts import ShortRequest
from tests.integration.conftest import Stack
from tests.integration.test_assembly import draw, gray_frame
from tests.integration.test_shorts import Api, api  # noqa: F401 - the fixture

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


@pytest.mark.parametrize("language", ["ja", "ko", "zh", "zh-Hant-TW", "hi", "ar-EG", "th", "ru-Arab"])
def test_a_language_the_caption_font_cannot_draw_is_refused_naming_it(
    stack: Stack, api: Api, language: str
) -> None:
    status, answer = api.call("POST", "/shorts", {"prompt": "A lighthouse keeper", "language": language})
    assert status == 422, answer
    said = json.dumps(answer)
    assert "language" in said
    assert "Latin, Greek or Cyrillic" in said
    assert "en, eo, es" in said  # the allowed ones
    assert stack.provider.requests() == []


@pytest.mark.parametrize("language", ["en", "es-MX", "pt-BR", "el", "ru", "uk", "sr-Latn", "zh-Latn"])
def test_a_language_in_a_script_the_caption_font_draws_is_accepted(language: str) -> None:
    assert ShortRequest(prompt="A lighthouse keeper", language=language).language == language


def test_two_different_greek_or_cyrillic_captions_are_drawn_differently(tmp_path: Path) -> None:
    tools = Toolchain.locate()
    # Control: two different Latin captions of the same length differ on screen.
    assert (
        differing(
            caption_frame(tools, tmp_path, "latin-a", "The keeper smiled"),
            caption_frame(tools, tmp_path, "latin-b", "A small boat came"),
        )
        > 500
    )
    for script, first, second in (
        ("greek", "Ο φύλακας χαμογέλασε", "Ένα μικρό σκάφος ήρθε"),  # noqa: RUF001 - Greek on purpose
        ("cyrillic", "Смотритель улыбнулся", "Пришла маленькая лодка"),
    ):
        drawn = differing(
            caption_frame(tools, tmp_path, f"{script}-a", first),
            caption_frame(tools, tmp_path, f"{script}-b", second),
        )
        assert drawn > 500, f"only {drawn} pixels differ between two different {script} captions"
