"""Prompts for story segments. Bump PROMPT_VERSION when the wording changes."""

from __future__ import annotations

from contentgen.models.common import CharacterRef
from contentgen.prompts.characters import character_brief

PROMPT_VERSION = "stories/2026-11-30"

SHORT_VIDEO_RULES = """\
The output becomes a vertical short video (TikTok, YouTube Shorts, Reels):
- Each segment is one shot of 3 to 8 seconds: its narration is one or two sentences, about 8 to 25 words.
- The first segment is the hook: open on the conflict, question or surprise, never on the setting.
- Each visual_prompt is rendered alone, without the others: restate the character's appearance, the place \
and the art style every time; never write "the same man as before". Frame it for vertical 9:16.
- Narration and title are in the requested language; visual_prompt is always in English."""

STORY_SYSTEM = f"""\
You write short stories for narrated short-form videos and split them into segments.
{SHORT_VIDEO_RULES}
- The story has a beginning, a turn and an ending that pays off the hook, within the segments given.
Answer with JSON only, matching the schema."""


def story_user_prompt(
    *,
    prompt: str,
    segment_count: int,
    style: str | None,
    language: str,
    character: CharacterRef | None = None,
) -> str:
    lines = [
        f"Write a story in exactly {segment_count} segments.",
        f"Language of title and narration (BCP 47): {language}",
    ]
    if style:
        lines.append(f"Style: {style}")
    if character is not None:
        lines.append(character_brief(character))
    lines.append(f"Story idea:\n{prompt}")
    return "\n".join(lines)


# -- long stories, chunk by chunk ------------------------------------------------------------------

OUTLINE_SYSTEM = """\
You plan long stories for narrated short-form video series. Write a compact outline that a writer
will follow part by part: title, logline, point of view, tense, setting, one art style for every
shot, the main characters with fixed visual traits, and the arc split across the parts so that
the first part opens on a hook and the last part resolves it.
Title and logline are in the requested language; setting, art_style and character looks in English.
Answer with JSON only, matching the schema."""

CHUNK_SYSTEM = f"""\
You are writing one part of a long story for narrated short-form video, continuing exactly where
the previous part stopped. Keep names, point of view, tense and open plot threads; do not restart,
recap or end the story early.
{SHORT_VIDEO_RULES}
- Every visual_prompt restates the character's fixed look and the story's art style from the outline.
Also return story_so_far: a summary of the whole story up to the end of your part.
Answer with JSON only, matching the schema."""


def outline_user_prompt(
    *,
    prompt: str,
    segment_count: int,
    chunk_count: int,
    style: str | None,
    language: str,
    character: CharacterRef | None = None,
) -> str:
    lines = [
        f"Plan a story of {segment_count} segments told in {chunk_count} parts (one plan entry per part).",
        f"Language of title and logline (BCP 47): {language}",
    ]
    if style:
        lines.append(f"Style: {style}")
    if character is not None:
        lines.append(character_brief(character) + " Use this look as that character's look in the outline.")
    lines.append(f"Story idea:\n{prompt}")
    return "\n".join(lines)


def chunk_user_prompt(
    *,
    outline_json: str,
    part: int,
    parts: int,
    first_index: int,
    count: int,
    total: int,
    story_so_far: str | None,
    previous_segments: list[str],
    style: str | None,
    language: str,
    character: CharacterRef | None = None,
) -> str:
    lines = [
        f"Outline (follow it):\n{outline_json}",
        f"Write part {part} of {parts}: segments {first_index} to {first_index + count - 1} of {total}, "
        f"exactly {count} segments.",
        f"Language of narration (BCP 47): {language}",
    ]
    if style:
        lines.append(f"Style: {style}")
    if character is not None:
        lines.append(character_brief(character))
    if part == 1:
        lines.append("This is the opening part: its first segment is the hook.")
    if part == parts:
        lines.append("This is the final part: resolve the story and pay off the hook.")
    if story_so_far:
        lines.append(f"The story so far:\n{story_so_far}")
    if previous_segments:
        quoted = "\n".join(f"- {text}" for text in previous_segments)
        lines.append(f"The last segments before your part, verbatim (continue from here):\n{quoted}")
    return "\n".join(lines)


# -- alternative sets -------------------------------------------------------------------------------

SET_ANGLES = (
    "the most direct telling, with a strong hook and a satisfying ending",
    "a twist ending that recasts everything before it",
    "told from the point of view of a different character than the obvious one",
    "comedic, with escalating absurdity",
    "quiet and emotional, built on small details",
    "a mystery that withholds one key fact until the last segment",
    "told out of order, opening at the climax",
    "high stakes and fast pace, a race against time",
    "a bittersweet ending where winning costs something",
    "told as a confession or a message to someone",
)


def set_angle(index: int) -> str:
    return SET_ANGLES[(index - 1) % len(SET_ANGLES)]


def set_user_prompt(
    *,
    prompt: str,
    segments: int,
    index: int,
    total: int,
    style: str | None,
    language: str,
    character: CharacterRef | None = None,
) -> str:
    others = [set_angle(other) for other in range(1, total + 1) if other != index]
    lines = [
        f"This is take {index} of {total} on the same idea. Each take must be a genuinely different story.",
        f"Your angle: {set_angle(index)}.",
    ]
    if others:
        lines.append("The other takes use these angles, so do not: " + "; ".join(others) + ".")
    lines.append(
        story_user_prompt(
            prompt=prompt, segment_count=segments, style=style, language=language, character=character
        )
    )
    return "\n".join(lines)
