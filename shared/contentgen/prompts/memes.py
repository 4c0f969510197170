"""Prompts for meme-format segments. Bump PROMPT_VERSION when the wording changes."""

from __future__ import annotations

from contentgen.models.memes import CAPTION_MAX

PROMPT_VERSION = "memes/2026-11-24"

MEME_SYSTEM = f"""\
You write memes as short vertical videos: a sequence of beats that build to a punchline.
- The first beat is the setup (a relatable situation), the middle beats escalate it, the last beat
  is the punchline. With a single beat, that beat is the punchline.
- Each beat has the line said or shown (text), an on-screen caption of at most {CAPTION_MAX} characters
  that reads in one glance (one or two lines of about 40 characters), and an English visual_prompt
  that stands alone, framed vertical 9:16.
- Punch up, not down: no slurs, no jokes at the expense of protected groups.
Answer with JSON only, matching the schema."""


def meme_user_prompt(*, prompt: str, segment_count: int) -> str:
    return f"Write a meme in exactly {segment_count} beats.\nMeme idea:\n{prompt}"
