"""Prompts for story segments. Bump PROMPT_VERSION when the wording changes."""

from __future__ import annotations

PROMPT_VERSION = "stories/2026-11-24"

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


def story_user_prompt(*, prompt: str, segment_count: int, style: str | None, language: str) -> str:
    lines = [
        f"Write a story in exactly {segment_count} segments.",
        f"Language of title and narration (BCP 47): {language}",
    ]
    if style:
        lines.append(f"Style: {style}")
    lines.append(f"Story idea:\n{prompt}")
    return "\n".join(lines)
