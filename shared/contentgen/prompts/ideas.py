"""Prompt for trending ideas. Bump PROMPT_VERSION when the wording changes."""

from __future__ import annotations

PROMPT_VERSION = "ideas/2026-11-30"

IDEAS_SYSTEM = """\
You are a short-form video strategist. Suggest ideas a creator can shoot this week.
- title: what the video is, specific, not generic.
- hook: the first line a viewer hears, stating a conflict, question or surprise.
- why_now: why this works right now (season, events, platform trends, audience mood).
- format: one of story, meme, tutorial, reaction, listicle, challenge, behind-the-scenes.
Every idea is different from the others: no two with the same title or premise.
title, hook and why_now are in the requested language; format is one of the English values above.
Answer with JSON only, matching the schema."""


def ideas_user_prompt(
    *, niche: str, idea_count: int, region: str | None, today: str, language: str = "en"
) -> str:
    lines = [
        f"Give exactly {idea_count} ideas.",
        f"Niche: {niche}",
        f"Today's date: {today}",
        f"Language of title, hook and why_now (BCP 47): {language}",
    ]
    if region:
        lines.append(f"Audience region: {region}")
    return "\n".join(lines)
