"""Prompt for character analysis. Bump PROMPT_VERSION when the wording changes."""

from __future__ import annotations

from contentgen.models.common import CharacterRef

PROMPT_VERSION = "characters/2026-11-30"

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


# -- a given character, carried into generations ----------------------------------------------------


def character_brief(character: CharacterRef) -> str:
    """Prompt lines that put `character` in a story, meme or image with its exact look."""
    name = character.name or "the main character"
    return (
        f"Main character: {name}. Their look, in English, which every visual_prompt must contain "
        f"word for word: {character.visual_prompt}"
    )


def carry_look(visual_prompt: str, character: CharacterRef | None) -> str:
    """`visual_prompt` with the character's look in it: the model is asked to copy the look word
    for word; where it did not (case and spacing aside), the look is put in front."""
    if character is None:
        return visual_prompt
    look = character.visual_prompt.strip()
    if " ".join(look.lower().split()) in " ".join(visual_prompt.lower().split()):
        return visual_prompt
    return f"{look.rstrip('.')}. {visual_prompt}"
