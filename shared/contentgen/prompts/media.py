"""Prompts for images and videos. Bump PROMPT_VERSION when the wording changes."""

from __future__ import annotations

import re

from contentgen.models.common import CharacterRef

PROMPT_VERSION = "media/2026-11-30"

# The caller asked for words in the image: a quoted phrase or a word about text.
_ASKS_FOR_TEXT = re.compile(
    r"\"[^\"]+\"|\b(text|title|caption|words?|lettering|letters|saying|says|logo)\b", re.I
)


def thumbnail_prompt(prompt: str, character: CharacterRef | None = None) -> str:
    """Shape a caller's idea into a thumbnail: one bold subject, readable small, no stray text;
    with a `character`, that character drawn with its look."""
    rules = [
        "Thumbnail image for a short video.",
        f"Subject: {prompt}",
        "One bold, clearly separated subject filling the frame; strong contrast and saturated colour;",
        "simple uncluttered background; readable at small size on a phone.",
    ]
    if character is not None:
        rules.append(f"The character, exactly as described: {character.visual_prompt}")
    if not _ASKS_FOR_TEXT.search(prompt):
        rules.append("No text, letters, captions, logos or watermarks.")
    return " ".join(rules)


def video_prompt(prompt: str, *, aspect_ratio: str) -> str:
    framing = "vertical 9:16" if aspect_ratio == "9:16" else "horizontal 16:9"
    return f"{prompt}. Cinematic, {framing} framing, one continuous shot, smooth camera motion, no text overlays."
