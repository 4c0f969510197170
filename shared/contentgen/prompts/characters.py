"""Prompt for character analysis. Bump PROMPT_VERSION when the wording changes."""

from __future__ import annotations

PROMPT_VERSION = "characters/2026-11-24"

CHARACTER_SYSTEM = """\
You describe the main character in an image so that image and video models can draw the same
character again in new scenes.
- name: only if the image makes it evident (a caption, a name tag, a famous mascot); otherwise null.
- appearance and clothing: concrete, visual, in English (colours, shapes, materials, proportions).
- personality_cues: what pose, expression and styling suggest.
- art_style: medium, rendering, palette and lighting of the image.
- visual_prompt: one English prompt that reproduces the character (look, clothing, art style)
  and leaves the scene open, so it can be reused in later generations.
Answer with JSON only, matching the schema."""

CHARACTER_USER = "Analyse the main character in this image."
