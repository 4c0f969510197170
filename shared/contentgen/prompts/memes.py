"""Prompts for meme-format segments. Bump PROMPT_VERSION when the wording changes."""

from __future__ import annotations

from contentgen.models.common import CharacterRef
from contentgen.models.memes import CAPTION_MAX
from contentgen.prompts.characters import character_brief

PROMPT_VERSION = "memes/2026-11-30"

MEME_SYSTEM = f"""\
You write memes as short vertical videos: a sequence of beats that build to a punchline.
- The first beat is the setup (a relatable situation), the middle beats escalate it, the last beat
  is the punchline. With a single beat, that beat is the punchline.
- Each beat has the line said or shown (text), an on-screen caption of at most {CAPTION_MAX} characters
  that reads in one glance (one or two lines of about 40 characters), and an English visual_prompt
  that stands alone, framed vertical 9:16.
- text and caption are in the requested language (what a viewer hears or reads); visual_prompt is
  always in English.
- Punch up, not down: no slurs, no jokes at the expense of protected groups.
Answer with JSON only, matching the schema."""


def meme_user_prompt(
    *, prompt: str, segment_count: int, language: str = "en", character: CharacterRef | None = None
) -> str:
    lines = [
        f"Write a meme in exactly {segment_count} beats.",
        f"Language of text and captions (BCP 47): {language}",
    ]
    if character is not None:
        lines.append(character_brief(character))
    lines.append(f"Meme idea:\n{prompt}")
    return "\n".join(lines)
